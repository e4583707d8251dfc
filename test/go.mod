module github.com/wampedge/wampedge/test

go 1.24.0

replace github.com/wampedge/wampedge => ../
