// Interop peer for wampedge: Autobahn|C++ (Debian autobahn-cpp-dev 17.5.1,
// header-only, msgpack-c + Boost.Asio), driven through the line protocol of
// ../PROTOCOL.md.
//
// Build (test/interop reads the "// build:" line and runs it with its own
// paths for peer.cpp and the -o output):
// build: g++ -std=c++17 -O1 -DMSGPACK_DEFAULT_API_VERSION=1 -o peer peer.cpp -lboost_thread -lboost_system -lpthread
//
// What autobahn-cpp 17.5.1 can and cannot do, and how this peer copes:
//  - Serializer: MessagePack only. With --ser json the peer prints
//    {"fatal":...} and exits 1.
//  - Transports: RawSocket over TCP (wamp_tcp_transport) and over a Unix
//    socket (wamp_uds_transport). No WebSocket here.
//  - --maxlen: the RawSocket handshake is fixed in the library (0xF2:
//    2^24 octets, MessagePack), and the router's announced maximum is not
//    checked before sending. --maxlen 16777216 is therefore what the peer
//    does anyway; any other value is ignored with a note on stderr (the
//    harness always passes the option).
//  - Floats: msgpack-c's packer writes a double with an integral value
//    (3.0, -0.0) as a MessagePack integer; received floats stay floats.
//  - publish with acknowledge: wamp_publish_options knows only exclude_me,
//    and PUBLISHED is ignored: the reply is {"fail":"acknowledge not supported"}.
//    exclude_me is supported (only false goes on the wire; true is WAMP's
//    default).
//  - Router ERRORs: the library turns them into std::runtime_error(uri),
//    dropping args and kwargs. The peer puts a tap between the transport and
//    the session (the library's public wamp_transport_handler interface): it
//    records each ERROR's uri/args/kwargs by request type and id before the
//    session sees it. Request ids are mirrored: the library numbers requests
//    1, 2, 3... in the order of publish/subscribe/unsubscribe/call/provide/
//    unprovide calls, and this peer makes all of them on the io thread.
//  - unregister: this library version ignores UNREGISTERED (on_message has a
//    FIXME there), so unprovide()'s future never resolves; the tap answers
//    the command when UNREGISTERED arrives. An ERROR still comes through the
//    library's future.
//  - EVENT: wamp_event does not expose the subscription or publication id;
//    the tap takes them from the EVENT frame that is being dispatched.
//  - Advanced Profile (the optional members of PROTOCOL.md): subscribe takes
//    match (wamp_subscribe_options::set_match), register match and invoke
//    (provide()'s options dict), call timeout (wamp_call_options). The rest
//    is "unsupported": get_retained (wamp_subscribe_options knows match
//    only), publish options other than exclude_me, disclose_me, progressive
//    results (the caller cannot ask for them and the callee does not
//    announce them), cancel (the session has none) and the "slow" behavior
//    (the library throws on INTERRUPT: "not implemented"). wamp_event does
//    not expose EVENT.Details: the tap reads topic, publisher and retained
//    off the frame. Invocation details (procedure, caller) come from the
//    library. A command member the peer does not know is refused, never
//    ignored.
//  - Connection loss: the RawSocket transport stops reading silently and
//    never tells the session. The io_service then runs out of work, so
//    io_service::run() returning (when not leaving) means the connection is
//    gone: {"closed":...}, exit 2.
//  - A GOODBYE from the router: the library clears its session id before
//    replying and then refuses to send the reply ("session not joined"),
//    throwing out of io_service::run(). Its read loop ends there, so the
//    peer reports {"closed":"router sent GOODBYE <reason> (...)"}, exit 2.

#include <autobahn/autobahn.hpp>
#include <boost/asio.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using json = nlohmann::json;
namespace ab = autobahn;

// ===========================================================================
// json <-> msgpack
// ===========================================================================

namespace {

const char kB64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64_encode(const char* data, std::size_t n)
{
    std::string out;
    out.reserve((n + 2) / 3 * 4);
    const auto* p = reinterpret_cast<const unsigned char*>(data);
    std::size_t i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (p[i] << 16) | (p[i + 1] << 8) | p[i + 2];
        out += kB64[v >> 18];
        out += kB64[(v >> 12) & 63];
        out += kB64[(v >> 6) & 63];
        out += kB64[v & 63];
    }
    if (i + 1 == n) {
        uint32_t v = p[i] << 16;
        out += kB64[v >> 18];
        out += kB64[(v >> 12) & 63];
        out += "==";
    } else if (i + 2 == n) {
        uint32_t v = (p[i] << 16) | (p[i + 1] << 8);
        out += kB64[v >> 18];
        out += kB64[(v >> 12) & 63];
        out += kB64[(v >> 6) & 63];
        out += '=';
    }
    return out;
}

std::string base64_decode(const std::string& s)
{
    if (s.size() % 4 != 0) {
        throw std::runtime_error("binary value: base64 length is not a multiple of 4");
    }
    auto value = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '+') return 62;
        if (c == '/') return 63;
        return -1;
    };
    std::string out;
    out.reserve(s.size() / 4 * 3);
    for (std::size_t i = 0; i < s.size(); i += 4) {
        int pad = 0;
        uint32_t v = 0;
        for (std::size_t j = 0; j < 4; ++j) {
            char c = s[i + j];
            int d;
            if (c == '=' && i + 4 == s.size() && j >= 2) {
                d = 0;
                ++pad;
            } else {
                d = value(c);
                if (d < 0 || pad > 0) {
                    throw std::runtime_error("binary value: invalid base64");
                }
            }
            v = (v << 6) | static_cast<uint32_t>(d);
        }
        out += static_cast<char>(v >> 16);
        if (pad < 2) out += static_cast<char>((v >> 8) & 0xFF);
        if (pad < 1) out += static_cast<char>(v & 0xFF);
    }
    return out;
}

// Copies bytes into the zone, so that the msgpack::object may point at them.
const char* zone_copy(msgpack::zone& zone, const std::string& bytes)
{
    if (bytes.empty()) return nullptr;
    char* p = static_cast<char*>(zone.allocate_align(bytes.size()));
    std::memcpy(p, bytes.data(), bytes.size());
    return p;
}

// A control-protocol value as a msgpack object (memory in zone).
msgpack::object to_msgpack(const json& v, msgpack::zone& zone)
{
    msgpack::object o;
    switch (v.type()) {
    case json::value_t::null:
        o.type = msgpack::type::NIL;
        break;
    case json::value_t::boolean:
        o = msgpack::object(v.get<bool>());
        break;
    case json::value_t::number_unsigned:
        o = msgpack::object(v.get<uint64_t>());  // POSITIVE_INTEGER
        break;
    case json::value_t::number_integer:
        o = msgpack::object(v.get<int64_t>());   // NEGATIVE_INTEGER when < 0
        break;
    case json::value_t::number_float:
        o = msgpack::object(v.get<double>());    // FLOAT64
        break;
    case json::value_t::string: {
        const auto& s = v.get_ref<const std::string&>();
        if (!s.empty() && s[0] == '\0') {
            std::string bytes = base64_decode(s.substr(1));
            o.type = msgpack::type::BIN;
            o.via.bin.size = static_cast<uint32_t>(bytes.size());
            o.via.bin.ptr = zone_copy(zone, bytes);
        } else {
            o.type = msgpack::type::STR;
            o.via.str.size = static_cast<uint32_t>(s.size());
            o.via.str.ptr = zone_copy(zone, s);
        }
        break;
    }
    case json::value_t::binary: {
        const auto& b = v.get_binary();
        std::string bytes(b.begin(), b.end());
        o.type = msgpack::type::BIN;
        o.via.bin.size = static_cast<uint32_t>(bytes.size());
        o.via.bin.ptr = zone_copy(zone, bytes);
        break;
    }
    case json::value_t::array: {
        o.type = msgpack::type::ARRAY;
        o.via.array.size = static_cast<uint32_t>(v.size());
        o.via.array.ptr = v.empty() ? nullptr : static_cast<msgpack::object*>(
                zone.allocate_align(sizeof(msgpack::object) * v.size()));
        for (std::size_t i = 0; i < v.size(); ++i) {
            o.via.array.ptr[i] = to_msgpack(v[i], zone);
        }
        break;
    }
    case json::value_t::object: {
        o.type = msgpack::type::MAP;
        o.via.map.size = static_cast<uint32_t>(v.size());
        o.via.map.ptr = v.empty() ? nullptr : static_cast<msgpack::object_kv*>(
                zone.allocate_align(sizeof(msgpack::object_kv) * v.size()));
        std::size_t i = 0;
        for (auto it = v.begin(); it != v.end(); ++it, ++i) {
            o.via.map.ptr[i].key = to_msgpack(json(it.key()), zone);
            o.via.map.ptr[i].val = to_msgpack(it.value(), zone);
        }
        break;
    }
    default:
        throw std::runtime_error("value cannot be sent");
    }
    return o;
}

// A received msgpack object as a control-protocol value.
json to_json(const msgpack::object& o)
{
    switch (o.type) {
    case msgpack::type::NIL:
        return nullptr;
    case msgpack::type::BOOLEAN:
        return o.via.boolean;
    case msgpack::type::POSITIVE_INTEGER:
        return o.via.u64;
    case msgpack::type::NEGATIVE_INTEGER:
        return o.via.i64;
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
        return o.via.f64;
    case msgpack::type::STR:
        return std::string(o.via.str.ptr, o.via.str.size);
    case msgpack::type::BIN:
        return std::string(1, '\0') + base64_encode(o.via.bin.ptr, o.via.bin.size);
    case msgpack::type::ARRAY: {
        json a = json::array();
        for (uint32_t i = 0; i < o.via.array.size; ++i) {
            a.push_back(to_json(o.via.array.ptr[i]));
        }
        return a;
    }
    case msgpack::type::MAP: {
        json m = json::object();
        for (uint32_t i = 0; i < o.via.map.size; ++i) {
            const auto& kv = o.via.map.ptr[i];
            std::string key = kv.key.type == msgpack::type::STR
                    ? std::string(kv.key.via.str.ptr, kv.key.via.str.size)
                    : to_json(kv.key).dump();
            m[key] = to_json(kv.val);
        }
        return m;
    }
    default:
        throw std::runtime_error("received a msgpack extension type");
    }
}

// A command's member; absent or null means none.
bool has_value(const json& cmd, const char* key)
{
    return cmd.contains(key) && !cmd.at(key).is_null();
}

// A command's args and kwargs as msgpack objects (memory in zone). Converted
// before any request is made, so that a bad value fails the command without
// sending anything.
struct Payload {
    Payload(const json& cmd, msgpack::zone& zone)
        : has_args(has_value(cmd, "args")), has_kwargs(has_value(cmd, "kwargs"))
    {
        if (has_args && !cmd.at("args").is_array()) throw std::runtime_error("args must be a list");
        if (has_kwargs && !cmd.at("kwargs").is_object()) throw std::runtime_error("kwargs must be a dict");
        args = to_msgpack(has_args ? cmd.at("args") : json::array(), zone);
        kwargs = to_msgpack(has_kwargs ? cmd.at("kwargs") : json::object(), zone);
    }
    bool has_args, has_kwargs;
    msgpack::object args, kwargs;
};

// ===========================================================================
// protocol I/O
// ===========================================================================

std::mutex g_out_mutex;

// Writes one line to stdout and flushes it.
void emit(const json& line)
{
    std::string text = line.dump(-1, ' ', false, json::error_handler_t::replace);
    text += '\n';
    std::lock_guard<std::mutex> lock(g_out_mutex);
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
}

[[noreturn]] void finish(int status)
{
    {
        std::lock_guard<std::mutex> lock(g_out_mutex);
        std::fflush(stdout);
    }
    std::fflush(stderr);
    std::_Exit(status);
}

[[noreturn]] void fatal(const std::string& text)
{
    emit({{"fatal", text}});
    finish(1);
}

void reply_ok(const json& id, json result)
{
    emit({{"id", id}, {"ok", std::move(result)}});
}

void reply_fail(const json& id, const std::string& text)
{
    emit({{"id", id}, {"fail", text}});
}

// A WAMP ERROR as the router sent it.
struct RouterError {
    std::string uri;
    json args = json::array();
    json kwargs = json::object();
};

void reply_error(const json& id, const RouterError& e)
{
    emit({{"id", id}, {"error", {{"uri", e.uri}, {"args", e.args}, {"kwargs", e.kwargs}}}});
}

// Sits between the transport and the session and sees every incoming frame
// before the session does: it keeps what autobahn-cpp drops (ERROR payloads,
// UNREGISTERED, an EVENT's ids), then hands the frame on unchanged.
class Tap : public ab::wamp_transport_handler {
public:
    explicit Tap(std::shared_ptr<ab::wamp_session> session) : m_session(std::move(session)) {}

    void on_attach(const std::shared_ptr<ab::wamp_transport>& transport) override
    {
        inner().on_attach(transport);
    }

    void on_detach(bool was_clean, const std::string& reason) override
    {
        inner().on_detach(was_clean, reason);
    }

    void on_message(ab::wamp_message&& message) override
    {
        observe(message);
        inner().on_message(std::move(message));
    }

    // The ERROR the router sent for a request, if it sent one (taken once).
    bool take_error(ab::message_type type, uint64_t request, RouterError& out)
    {
        auto it = m_errors.find({static_cast<int>(type), request});
        if (it == m_errors.end()) return false;
        out = std::move(it->second);
        m_errors.erase(it);
        return true;
    }

    // Runs done when UNREGISTERED for request arrives.
    void when_unregistered(uint64_t request, std::function<void()> done)
    {
        m_unregistered[request] = std::move(done);
    }
    void forget_unregistered(uint64_t request) { m_unregistered.erase(request); }

    // The EVENT being dispatched: a sequence number and its ids.
    uint64_t event_seq() const { return m_event_seq; }
    uint64_t event_subscription() const { return m_event_subscription; }
    uint64_t event_publication() const { return m_event_publication; }
    const json& event_details() const { return m_event_details; }

    // The reason of a GOODBYE the router sent, or "".
    const std::string& goodbye_reason() const { return m_goodbye_reason; }

private:
    ab::wamp_transport_handler& inner() { return *m_session; }

    void observe(ab::wamp_message& m)
    {
        try {
            if (m.size() < 2 || !m.is_field_type(0, msgpack::type::POSITIVE_INTEGER)) return;
            switch (static_cast<ab::message_type>(m.field<int>(0))) {
            case ab::message_type::ERROR: {
                // [ERROR, REQUEST.Type, REQUEST.Request, Details, Error, Arguments?, ArgumentsKw?]
                if (m.size() < 5) return;
                RouterError e;
                e.uri = m.field<std::string>(4);
                if (m.size() > 5) e.args = to_json(m.field(5));
                if (m.size() > 6) e.kwargs = to_json(m.field(6));
                m_errors[{m.field<int>(1), m.field<uint64_t>(2)}] = std::move(e);
                break;
            }
            case ab::message_type::UNREGISTERED: {
                auto it = m_unregistered.find(m.field<uint64_t>(1));
                if (it != m_unregistered.end()) {
                    auto done = std::move(it->second);
                    m_unregistered.erase(it);
                    done();
                }
                break;
            }
            case ab::message_type::GOODBYE:
                if (m.size() >= 3) m_goodbye_reason = m.field<std::string>(2);
                break;
            case ab::message_type::EVENT:
                if (m.size() < 3) return;
                ++m_event_seq;
                m_event_subscription = m.field<uint64_t>(1);
                m_event_publication = m.field<uint64_t>(2);
                m_event_details = json::object();
                if (m.size() > 3 && m.is_field_type(3, msgpack::type::MAP)) {
                    json d = to_json(m.field(3));
                    for (const char* key : {"topic", "publisher", "retained"}) {
                        if (d.contains(key)) m_event_details[key] = d[key];
                    }
                }
                break;
            default:
                break;
            }
        } catch (const std::exception& e) {
            std::cerr << "peer: could not read an incoming frame: " << e.what() << std::endl;
        }
    }

    std::shared_ptr<ab::wamp_session> m_session;
    std::map<std::pair<int, uint64_t>, RouterError> m_errors;
    std::map<uint64_t, std::function<void()>> m_unregistered;
    uint64_t m_event_seq = 0;
    uint64_t m_event_subscription = 0;
    uint64_t m_event_publication = 0;
    json m_event_details = json::object();
    std::string m_goodbye_reason;
};

// The members each command may have; any other is refused, never ignored.
const std::map<std::string, std::vector<std::string>> kFields = {
    {"subscribe", {"topic", "match", "get_retained"}},
    {"unsubscribe", {"subscription"}},
    {"publish", {"topic", "args", "kwargs", "acknowledge", "exclude_me", "disclose_me", "retain",
                 "exclude", "exclude_authid", "exclude_authrole",
                 "eligible", "eligible_authid", "eligible_authrole"}},
    {"register", {"procedure", "behavior", "match", "invoke", "count"}},
    {"unregister", {"registration"}},
    {"call", {"procedure", "args", "kwargs", "receive_progress", "timeout", "disclose_me",
              "cancelable", "cancel_mode"}},
    {"cancel", {"call"}},
    {"leave", {}},
};

// A command this library cannot carry out as asked.
struct Unsupported : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Refuses a command with a member the library has no way to honour.
void refuse(const json& cmd, const char* key, const std::string& why)
{
    if (has_value(cmd, key)) throw Unsupported(std::string(key) + ": " + why);
}

// ===========================================================================
// commands
// ===========================================================================

class Peer {
public:
    Peer(boost::asio::io_service& io, std::string realm, bool debug)
        : m_io(io), m_realm(std::move(realm)), m_debug(debug) {}

    bool ready() const { return m_ready; }
    // Why the session ended, given why io_service::run() returned.
    std::string closed_text(const std::string& why) const
    {
        if (m_leaving || !m_tap || m_tap->goodbye_reason().empty()) return why;
        // autobahn-cpp 17.5.1 cannot answer a router's GOODBYE: it clears the
        // session id, then refuses to send its reply ("session not joined").
        return "router sent GOODBYE " + m_tap->goodbye_reason() + " (" + why + ")";
    }

    // Connects to url and joins; prints the ready line and starts reading
    // commands once joined.
    void open(const std::string& url)
    {
        m_session = std::make_shared<ab::wamp_session>(m_io, m_debug);
        m_tap = std::make_shared<Tap>(m_session);
        m_transport = make_transport(url);
        m_transport->attach(m_tap);

        // Until connect() has answered, nothing else keeps run() going (the
        // TCP transport answers from a thread of its own).
        m_connecting.reset(new boost::asio::io_service::work(m_io));
        when_ready(m_transport->connect(), [this](boost::future<void>& f) {
            m_connecting.reset();
            try {
                f.get();
            } catch (const std::exception& e) {
                fatal(std::string("connect: ") + e.what());
            }
            when_ready(m_session->start(), [this](boost::future<void>& f) {
                try {
                    f.get();
                } catch (const std::exception& e) {
                    fatal(std::string("start: ") + e.what());
                }
                when_ready(m_session->join(m_realm), [this](boost::future<uint64_t>& f) {
                    uint64_t id = 0;
                    try {
                        id = f.get();
                    } catch (const std::exception& e) {
                        fatal(std::string("join: ") + e.what());  // ABORT: abort_error(uri)
                    }
                    m_ready = true;
                    m_session_id = id;
                    emit({{"ready", {{"session", id}}}});
                    start_reading_commands();
                });
            });
        });
    }

    // Runs one command line (on the io thread).
    void handle_line(const std::string& line)
    {
        json cmd;
        try {
            cmd = json::parse(line);
        } catch (const std::exception& e) {
            std::cerr << "peer: unreadable command: " << e.what() << std::endl;
            return;
        }
        if (!cmd.is_object() || !cmd.contains("id")) {
            std::cerr << "peer: command without id: " << line.substr(0, 200) << std::endl;
            return;
        }
        const json id = cmd["id"];
        try {
            const std::string op = cmd.value("op", "");
            auto fields = kFields.find(op);
            if (fields == kFields.end()) throw Unsupported("op " + op);
            for (auto it = cmd.begin(); it != cmd.end(); ++it) {
                if (it.key() == "id" || it.key() == "op") continue;
                const auto& known = fields->second;
                if (std::find(known.begin(), known.end(), it.key()) == known.end()) {
                    throw Unsupported(op + " with " + it.key());
                }
            }
            if (op == "subscribe") subscribe(id, cmd);
            else if (op == "unsubscribe") unsubscribe(id, cmd);
            else if (op == "publish") publish(id, cmd);
            else if (op == "register") register_procedure(id, cmd);
            else if (op == "unregister") unregister(id, cmd);
            else if (op == "call") call(id, cmd);
            else if (op == "leave") leave(id);
            else throw Unsupported("op " + op + ": autobahn-cpp 17.5.1 cannot cancel calls");
        } catch (const Unsupported& e) {
            reply_fail(id, std::string("unsupported: ") + e.what());
        } catch (const std::exception& e) {
            reply_fail(id, e.what());
        }
    }

private:
    // Calls fn(future) on the io thread once fut is ready, whatever thread
    // fulfils it.
    template <typename T, typename F>
    void when_ready(boost::future<T> fut, F fn)
    {
        boost::asio::io_service* io = &m_io;
        fut.then(boost::launch::sync, [io, fn](boost::future<T> done) {
            auto held = std::make_shared<boost::future<T>>(std::move(done));
            io->post([fn, held]() mutable { fn(*held); });
        });
    }

    // The id autobahn-cpp gives the request that the next session call sends
    // (see the top of this file). Call it right before that session call,
    // once nothing can throw in between.
    uint64_t next_request() { return ++m_request_counter; }

    // A failed request: the router's ERROR when there was one, else a local
    // failure.
    void reply_failure(const json& id, ab::message_type type, uint64_t request,
                       const std::string& what)
    {
        RouterError e;
        if (m_tap->take_error(type, request, e)) {
            reply_error(id, e);
        } else {
            reply_fail(id, what);
        }
    }

    // Runs get() on a finished future and reports an exception as a failed
    // request; returns false then.
    template <typename T, typename G>
    bool settle(const json& id, ab::message_type type, uint64_t request,
                boost::future<T>& f, G get)
    {
        try {
            get(f);
            return true;
        } catch (const std::exception& e) {
            reply_failure(id, type, request, e.what());
        } catch (...) {
            reply_failure(id, type, request, "unknown exception");
        }
        return false;
    }

    std::shared_ptr<ab::wamp_transport> make_transport(const std::string& url)
    {
        if (url.rfind("tcp://", 0) == 0) {
            std::string hostport = url.substr(6);
            auto colon = hostport.rfind(':');
            if (colon == std::string::npos) throw std::runtime_error("url without port: " + url);
            std::string host = hostport.substr(0, colon);
            std::string port = hostport.substr(colon + 1);
            if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
                host = host.substr(1, host.size() - 2);
            }
            boost::asio::ip::tcp::resolver resolver(m_io);
            auto endpoints = resolver.resolve(boost::asio::ip::tcp::resolver::query(host, port));
            return std::make_shared<ab::wamp_tcp_transport>(m_io, *endpoints, m_debug);
        }
        if (url.rfind("unix://", 0) == 0) {
            boost::asio::local::stream_protocol::endpoint endpoint(url.substr(7));
            return std::make_shared<ab::wamp_uds_transport>(m_io, endpoint, m_debug);
        }
        throw std::runtime_error("unsupported url: " + url);
    }

    void start_reading_commands()
    {
        std::thread([this] {
            std::string line;
            while (std::getline(std::cin, line)) {
                if (line.empty()) continue;
                m_io.post([this, line] { handle_line(line); });
            }
            // stdin closed: the harness is done with this peer.
            m_io.post([] { finish(0); });
        }).detach();
    }

    void subscribe(const json& id, const json& cmd)
    {
        const std::string topic = cmd.at("topic").get<std::string>();
        refuse(cmd, "get_retained", "wamp_subscribe_options knows match only");
        ab::wamp_subscribe_options options;
        if (has_value(cmd, "match")) options.set_match(cmd.at("match").get<std::string>());
        auto handler = [this](const ab::wamp_event& event) {
            // One line per EVENT, even if this session subscribed twice.
            if (m_tap->event_seq() == m_last_event_printed) return;
            m_last_event_printed = m_tap->event_seq();
            try {
                emit({{"event", {
                        {"subscription", m_tap->event_subscription()},
                        {"publication", m_tap->event_publication()},
                        {"args", to_json(event.arguments<msgpack::object>())},
                        {"kwargs", to_json(event.kw_arguments<msgpack::object>())},
                        {"details", m_tap->event_details()}}}});
            } catch (const std::exception& e) {
                std::cerr << "peer: event not written: " << e.what() << std::endl;
            }
        };
        uint64_t request = next_request();
        when_ready(m_session->subscribe(topic, handler, options),
                   [id, request, this](boost::future<ab::wamp_subscription>& f) {
            settle(id, ab::message_type::SUBSCRIBE, request, f, [&](boost::future<ab::wamp_subscription>& f) {
                reply_ok(id, {{"subscription", f.get().id()}});
            });
        });
    }

    void unsubscribe(const json& id, const json& cmd)
    {
        ab::wamp_subscription subscription(cmd.at("subscription").get<uint64_t>());
        uint64_t request = next_request();
        when_ready(m_session->unsubscribe(subscription), [id, request, this](boost::future<void>& f) {
            settle(id, ab::message_type::UNSUBSCRIBE, request, f, [&](boost::future<void>& f) {
                f.get();
                reply_ok(id, json::object());
            });
        });
    }

    void publish(const json& id, const json& cmd)
    {
        if (cmd.value("acknowledge", false)) {
            reply_fail(id, "acknowledge not supported");
            return;
        }
        for (const char* key : {"disclose_me", "retain", "exclude", "exclude_authid", "exclude_authrole",
                                "eligible", "eligible_authid", "eligible_authrole"}) {
            refuse(cmd, key, "wamp_publish_options knows exclude_me only");
        }
        const std::string topic = cmd.at("topic").get<std::string>();
        ab::wamp_publish_options options;
        if (has_value(cmd, "exclude_me")) {
            options.set_exclude_me(cmd.at("exclude_me").get<bool>());
        }
        msgpack::zone zone;
        Payload p(cmd, zone);
        boost::future<void> sent;
        uint64_t request = next_request();
        if (p.has_kwargs) {
            sent = m_session->publish(topic, p.args, p.kwargs, options);
        } else if (p.has_args) {
            sent = m_session->publish<msgpack::object>(topic, p.args, options);
        } else {
            sent = m_session->publish(topic, options);
        }
        when_ready(std::move(sent), [id, request, this](boost::future<void>& f) {
            settle(id, ab::message_type::PUBLISH, request, f, [&](boost::future<void>& f) {
                f.get();
                reply_ok(id, json::object());
            });
        });
    }

    void register_procedure(const json& id, const json& cmd)
    {
        const std::string procedure = cmd.at("procedure").get<std::string>();
        const std::string behavior = cmd.at("behavior").get<std::string>();
        if (behavior == "slow") {
            throw Unsupported("behavior slow: autobahn-cpp 17.5.1 throws on INTERRUPT (\"not implemented\")");
        }
        if (behavior != "echo" && behavior != "error" && behavior != "whoami" && behavior != "progress") {
            throw Unsupported("behavior " + behavior);
        }
        const int count = cmd.value("count", 3);
        ab::provide_options options;
        for (const char* key : {"match", "invoke"}) {
            if (has_value(cmd, key)) options[key] = to_msgpack(cmd.at(key), m_options_zone);
        }
        const uint64_t session = m_session_id;
        ab::wamp_procedure endpoint = [behavior, procedure, count, session](ab::wamp_invocation invocation) {
            msgpack::object args = invocation->arguments<msgpack::object>();
            msgpack::object kwargs = invocation->kw_arguments<msgpack::object>();
            if (behavior == "echo") {
                invocation->result(args, kwargs);
            } else if (behavior == "error") {
                invocation->error("com.example.error", args, kwargs);
            } else if (behavior == "whoami") {
                msgpack::zone zone;
                const uint64_t caller = invocation->detail_or<uint64_t>("caller", 0);
                json answer = {
                    {"procedure", invocation->detail_or<std::string>("procedure", procedure)},
                    {"caller", caller ? json(caller) : json(nullptr)},
                    {"callee", session}};
                invocation->result(to_msgpack(json::array(), zone), to_msgpack(answer, zone));
            } else if (!invocation->progressive_results_expected()) {
                msgpack::zone zone;
                invocation->error("com.example.no_progress",
                                  to_msgpack(json::array({"the invocation offers no progressive results"}), zone));
            } else {
                msgpack::zone zone;
                for (int i = 1; i <= count; ++i) {
                    invocation->progress(to_msgpack(json::array({i}), zone));
                }
                invocation->result(args, kwargs);
            }
        };
        uint64_t request = next_request();
        when_ready(m_session->provide(procedure, endpoint, options),
                   [id, request, this](boost::future<ab::wamp_registration>& f) {
            settle(id, ab::message_type::REGISTER, request, f, [&](boost::future<ab::wamp_registration>& f) {
                reply_ok(id, {{"registration", f.get().id()}});
            });
        });
    }

    void unregister(const json& id, const json& cmd)
    {
        ab::wamp_registration registration(cmd.at("registration").get<uint64_t>());
        uint64_t request = next_request();
        auto replied = std::make_shared<bool>(false);
        // autobahn-cpp 17.5.1 drops UNREGISTERED, so success comes from the tap.
        m_tap->when_unregistered(request, [id, replied] {
            if (*replied) return;
            *replied = true;
            reply_ok(id, json::object());
        });
        when_ready(m_session->unprovide(registration), [id, request, replied, this](boost::future<void>& f) {
            m_tap->forget_unregistered(request);
            if (*replied) return;
            *replied = true;
            settle(id, ab::message_type::UNREGISTER, request, f, [&](boost::future<void>& f) {
                f.get();
                reply_ok(id, json::object());
            });
        });
    }

    void call(const json& id, const json& cmd)
    {
        const std::string procedure = cmd.at("procedure").get<std::string>();
        refuse(cmd, "receive_progress", "wamp_call_options knows timeout only");
        refuse(cmd, "disclose_me", "wamp_call_options knows timeout only");
        refuse(cmd, "cancelable", "autobahn-cpp 17.5.1 cannot cancel calls");
        ab::wamp_call_options options;
        if (has_value(cmd, "timeout")) {
            options.set_timeout(std::chrono::milliseconds(cmd.at("timeout").get<int64_t>()));
        }
        msgpack::zone zone;
        Payload p(cmd, zone);
        boost::future<ab::wamp_call_result> result;
        uint64_t request = next_request();
        if (p.has_kwargs) {
            result = m_session->call(procedure, p.args, p.kwargs, options);
        } else if (p.has_args) {
            result = m_session->call(procedure, p.args, options);
        } else {
            result = m_session->call(procedure, options);
        }
        when_ready(std::move(result), [id, request, this](boost::future<ab::wamp_call_result>& f) {
            settle(id, ab::message_type::CALL, request, f, [&](boost::future<ab::wamp_call_result>& f) {
                ab::wamp_call_result r = f.get();
                reply_ok(id, {{"args", to_json(r.arguments<msgpack::object>())},
                              {"kwargs", to_json(r.kw_arguments<msgpack::object>())}});
            });
        });
    }

    void leave(const json& id)
    {
        m_leaving = true;
        when_ready(m_session->leave("wamp.close.close_realm"), [id, this](boost::future<std::string>& f) {
            try {
                f.get();  // the router's GOODBYE reason
            } catch (const std::exception& e) {
                m_leaving = false;
                reply_fail(id, std::string("leave: ") + e.what());
                return;
            }
            m_session->stop();
            try {
                m_transport->disconnect();
            } catch (const std::exception& e) {
                std::cerr << "peer: disconnect: " << e.what() << std::endl;
            }
            reply_ok(id, json::object());
            finish(0);
        });
    }

    boost::asio::io_service& m_io;
    std::string m_realm;
    bool m_debug;
    std::shared_ptr<ab::wamp_session> m_session;
    std::shared_ptr<Tap> m_tap;
    std::shared_ptr<ab::wamp_transport> m_transport;
    std::unique_ptr<boost::asio::io_service::work> m_connecting;
    uint64_t m_request_counter = 0;
    uint64_t m_session_id = 0;
    msgpack::zone m_options_zone;  // REGISTER options, kept for the library
    uint64_t m_last_event_printed = 0;
    bool m_ready = false;
    bool m_leaving = false;
};

}  // namespace

// ===========================================================================
// main
// ===========================================================================

int main(int argc, char** argv)
{
    std::string url, realm, ser = "msgpack";
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string flag = argv[i], value = argv[i + 1];
        if (flag == "--url") url = value;
        else if (flag == "--realm") realm = value;
        else if (flag == "--ser") ser = value;
        else if (flag == "--maxlen") {
            if (value != "16777216") {
                std::cerr << "peer: --maxlen " << value
                          << " ignored: autobahn-cpp always announces 2^24 octets" << std::endl;
            }
        } else {
            fatal("unknown option: " + flag);
        }
    }
    if (ser != "msgpack") {
        fatal("serializer " + ser + " not supported: autobahn-cpp speaks MessagePack only");
    }
    if (url.empty() || realm.empty()) {
        fatal("usage: peer --url URL --realm REALM --ser msgpack [--maxlen BYTES]");
    }

    boost::asio::io_service io;
    Peer peer(io, realm, std::getenv("PEER_DEBUG") != nullptr);
    try {
        peer.open(url);
    } catch (const std::exception& e) {
        fatal(e.what());
    }

    // run() returns once the transport stops reading (connection lost) or
    // when the library throws out of a handler (its read loop ends there too).
    std::string why = "connection lost";
    try {
        io.run();
    } catch (const std::exception& e) {
        why = std::string("autobahn-cpp: ") + e.what();
    }
    if (!peer.ready()) fatal(why + " before joining");
    emit({{"closed", peer.closed_text(why)}});
    finish(2);
}
