# serial/mcu: the C firmware client (wampmcu), included by the top Makefile.
#
# mcu        bin/mcu-demo, the POSIX sensor board
# mcu-test   the library with gcc and clang, strict; its unit tests under
#            ASan+UBSan; the Cortex-M0+ flash budget
# mcu-fuzz   the libFuzzer target for FUZZTIME (a count "5000x" or a duration "15s")
# mcu-size   flash and RAM on Cortex-M0+, Cortex-M4F and the ATmega328P
# mcu-bench  bytes on the line per event and per call, what that gives at
#            115200 baud and 1 Mbaud, and the library's CPU time per message

MCU_DIR    := serial/mcu
MCU_OUT    := bin/mcu
MCU_LIB    := $(MCU_DIR)/wampmcu.c $(MCU_DIR)/wampmcu_pack.c
MCU_HDR    := $(MCU_DIR)/wampmcu.h
MCU_SENSOR := $(MCU_DIR)/examples/sensor/sensor.c
MCU_STRICT := -std=c99 -Wall -Wextra -Werror -pedantic
MCU_SAN    := -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all
# The budget on the smallest target: flash = text + data on Cortex-M0+.
MCU_FLASH_BUDGET ?= 6144
MCU_ARM    := -Os -mthumb -ffunction-sections -fdata-sections
MCU_AVR    := -Os -mmcu=atmega328p -ffunction-sections -fdata-sections

.PHONY: mcu mcu-deps mcu-test mcu-fuzz mcu-size mcu-size-check mcu-bench

mcu: $(MCU_OUT)/.deps
	@mkdir -p bin
	$(CC) $(MCU_STRICT) -O2 -o bin/mcu-demo $(MCU_LIB) $(MCU_SENSOR) $(MCU_DIR)/examples/posix/main.c

# mcu-deps: Debian's compilers and tools, installed when missing; the
# stamp keeps it to one check per build tree.
$(MCU_OUT)/.deps:
	@need=""; \
	  command -v gcc >/dev/null || need="$$need gcc libc6-dev"; \
	  command -v g++ >/dev/null || need="$$need g++"; \
	  command -v clang >/dev/null || need="$$need clang"; \
	  command -v arm-none-eabi-gcc >/dev/null || need="$$need gcc-arm-none-eabi"; \
	  [ -d /usr/lib/arm-none-eabi/newlib ] || need="$$need libnewlib-arm-none-eabi"; \
	  command -v avr-gcc >/dev/null || need="$$need gcc-avr binutils-avr"; \
	  [ -f /usr/lib/avr/include/stdint.h ] || need="$$need avr-libc"; \
	  command -v socat >/dev/null || need="$$need socat"; \
	  if [ -n "$$need" ]; then echo "installing Debian packages:$$need"; sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	    $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$need || exit 1; fi; \
	  if ! printf 'int LLVMFuzzerTestOneInput(const char *d, long n){(void)d;(void)n;return 0;}\n' | \
	      clang -fsanitize=fuzzer,address,undefined -x c - -o /dev/null 2>/dev/null; then \
	    v=$$(clang -dumpversion | cut -d. -f1); echo "installing Debian package: libclang-rt-$$v-dev (libFuzzer)"; \
	    sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	    $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends libclang-rt-$$v-dev || exit 1; fi
	@mkdir -p $(MCU_OUT) && touch $@

mcu-deps: $(MCU_OUT)/.deps

mcu-test: $(MCU_OUT)/.deps mcu
	@for cc in gcc clang; do \
	  echo "== wampmcu: $$cc $(MCU_STRICT)"; \
	  for f in $(MCU_LIB) $(MCU_SENSOR); do $$cc $(MCU_STRICT) -O2 -c $$f -o $(MCU_OUT)/$$(basename $$f .c).$$cc.o || exit 1; done; \
	  $$cc $(MCU_STRICT) $(MCU_SAN) -o $(MCU_OUT)/unit.$$cc $(MCU_DIR)/test/unit.c || exit 1; \
	  $(MCU_OUT)/unit.$$cc || exit 1; \
	done
	@for cxx in g++ clang++ avr-g++; do \
	  echo "== the Arduino adapter and sketch: $$cxx (against a stand-in for the Arduino core)"; \
	  $$cxx -std=c++11 -Wall -Wextra -Werror -pedantic -Os -I$(MCU_DIR)/test/arduino -I$(MCU_DIR) -I$(MCU_DIR)/arduino \
	    -x c++ -c $(MCU_DIR)/arduino/examples/WampSensor/WampSensor.ino -o $(MCU_OUT)/sketch.$$cxx.o || exit 1; \
	done
	@$(MAKE) --no-print-directory mcu-size-check

# FUZZTIME "5000x" is a run count, anything else a duration in seconds.
mcu-fuzz: $(MCU_OUT)/.deps
	@clang $(MCU_STRICT) $(MCU_SAN) -fsanitize=fuzzer -o $(MCU_OUT)/fuzz $(MCU_LIB) $(MCU_DIR)/test/fuzz.c
	@mkdir -p $(MCU_OUT)/corpus
	@t='$(FUZZTIME)'; case "$$t" in *x) lim="-runs=$${t%x}";; *) lim="-max_total_time=$$(echo $$t | tr -dc 0-9)";; esac; \
	  echo "== wampmcu libFuzzer ($$lim)"; \
	  $(MCU_OUT)/fuzz $$lim -max_len=4096 -artifact_prefix=$(MCU_OUT)/ $(MCU_OUT)/corpus $(MCU_DIR)/test/corpus >$(MCU_OUT)/fuzz.log 2>&1; \
	  status=$$?; tail -3 $(MCU_OUT)/fuzz.log; exit $$status

# mcu-size: the library alone (text+data = flash, data+bss = RAM, the
# application's buffer not counted; on AVR, constants are copied to RAM
# too, so its RAM counts them), and the sensor demo for the Uno with a
# 512-byte buffer.
mcu-size: $(MCU_OUT)/.deps
	@for t in "cortex-m0plus arm-none-eabi -mcpu=cortex-m0plus" "cortex-m4f arm-none-eabi -mcpu=cortex-m4 -mfpu=fpv4-sp-d16 -mfloat-abi=hard" "atmega328p avr"; do \
	  set -- $$t; name=$$1; cc=$$2-gcc; shift 2; \
	  if [ $$cc = avr-gcc ]; then flags="$(MCU_AVR)"; else flags="$(MCU_ARM) $$*"; fi; \
	  objs=""; for f in $(MCU_LIB); do o=$(MCU_OUT)/$$(basename $$f .c).$$name.o; \
	    $$cc $(MCU_STRICT) $$flags -c $$f -o $$o || exit 1; objs="$$objs $$o"; done; \
	  $${cc%gcc}size -A $$objs | awk -v n=$$name -v avr=$$([ $$cc = avr-gcc ] && echo 1 || echo 0) ' \
	    $$1 ~ /^\.(text|rodata)/ {f+=$$2} $$1 ~ /^\.data/ {f+=$$2; r+=$$2} $$1 ~ /^\.bss/ {r+=$$2} \
	    avr && $$1 ~ /^\.rodata/ {r+=$$2} \
	    END {printf "%s flash=%d ram=%d\n", n, f, r}'; \
	done
	@printf '#include "wampmcu.h"\nchar size[sizeof(wm_client)];\n' | arm-none-eabi-gcc -mcpu=cortex-m0plus -mthumb -fno-common -I$(MCU_DIR) -x c -c - -o $(MCU_OUT)/state.o && \
	  printf '#include "wampmcu.h"\nchar size[sizeof(wm_client)];\n' | avr-gcc -mmcu=atmega328p -fno-common -I$(MCU_DIR) -x c -c - -o $(MCU_OUT)/state-avr.o && \
	  echo "state struct: $$(arm-none-eabi-size -A $(MCU_OUT)/state.o | awk '$$1==".bss"||$$1=="COMMON"{print $$2}' | head -1) bytes on Cortex-M, $$(avr-size -A $(MCU_OUT)/state-avr.o | awk '$$1==".bss"||$$1=="COMMON"{print $$2}' | head -1) on AVR"
	@avr-gcc $(MCU_STRICT) $(MCU_AVR) -Wl,--gc-sections -DSENSOR_BUF=512 -o $(MCU_OUT)/sensor-uno.elf \
	  $(MCU_LIB) $(MCU_SENSOR) $(MCU_DIR)/examples/sensor/uno.c && \
	  avr-size $(MCU_OUT)/sensor-uno.elf | awk 'NR>1 {printf "sensor demo on atmega328p, 512-byte buffer: flash=%d (of 32768) ram=%d (of 2048)\n", $$1+$$2, $$2+$$3}'

mcu-size-check: $(MCU_OUT)/.deps
	@out=$$($(MAKE) --no-print-directory -s mcu-size) || exit 1; echo "$$out"; \
	  flash=$$(echo "$$out" | awk '/^cortex-m0plus/ {sub("flash=", "", $$2); print $$2}'); \
	  if [ "$$flash" -gt $(MCU_FLASH_BUDGET) ]; then echo "wampmcu: $$flash bytes of flash on Cortex-M0+, over the budget of $(MCU_FLASH_BUDGET)"; exit 1; fi; \
	  echo "wampmcu: $$flash bytes of flash on Cortex-M0+, within $(MCU_FLASH_BUDGET)"

mcu-bench: $(MCU_OUT)/.deps
	@$(CC) $(MCU_STRICT) -O2 -o $(MCU_OUT)/bench $(MCU_LIB) $(MCU_DIR)/test/bench.c && $(MCU_OUT)/bench
