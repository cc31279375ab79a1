// The tunnel session to HRAS (docs/protocol.md): one endless GET carrying
// frames down and one endless chunked POST carrying frames up, both signed
// for the site and sharing a fresh session id. Either channel failing, a
// bad server proof, a framing error or silence from HRAS for three
// keep-alive intervals ends the session; a new one follows after a backoff.
#pragma once
#include "backoff.hpp"
#include "config.hpp"
#include "counters.hpp"
#include "curl_loop.hpp"
#include "re_handle.hpp"
#include "upload_queue.hpp"

#include <sofw/auth.hpp>
#include <sofw/frame.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

namespace hrac {

class Tunnel {
public:
    // Runs inside a curl callback: it may send() (which defers), but must
    // not stop() the tunnel.
    using FrameHandler = std::function<void(const sofw::Frame &)>;

    Tunnel(const Config &config, CurlLoop &loop, Counters &counters);
    ~Tunnel();
    Tunnel(const Tunnel &) = delete;
    Tunnel &operator=(const Tunnel &) = delete;

    // Downstream frames of this type go to handler; frames of types nobody
    // handles are counted and ignored.
    void set_frame_handler(sofw::FrameType type, FrameHandler handler);

    void start();  // first connection attempt, now
    void stop();   // ends the session for good (shutdown)
    bool is_up() const;

    // Queues a frame for HRAS. False (and counted) when the tunnel is not
    // up, the frame is invalid or HRAS is not keeping up.
    bool send(const sofw::Frame &frame);

private:
    struct Channel;
    struct Session;

    void connect();
    bool open_channel(Channel &channel, const char *method, const char *path);
    void drop_session(const std::string &reason, bool refused);
    void schedule_reconnect(unsigned lived_s);

    bool queue_frame(const sofw::Frame &frame);
    void send_keepalive();
    void flush_upload();
    void restart_downstream_deadline();

    // Called from the channels' curl callbacks.
    void on_channel_verified(Channel &channel);
    bool on_downstream_bytes(Channel &channel, const char *data, size_t len);
    void on_channel_done(Channel &channel, CURLcode result);

    static size_t on_header(char *buf, size_t size, size_t n, void *channel);
    static size_t on_body(char *buf, size_t size, size_t n, void *channel);
    static size_t on_upload_read(char *buf, size_t size, size_t n, void *channel);

    const Config &config_;
    CurlLoop &loop_;
    Counters &counters_;
    std::map<sofw::FrameType, FrameHandler> handlers_;

    std::unique_ptr<Session> session_;
    Backoff backoff_;
    bool stopping_ = false;

    ReTimer reconnect_timer_;
    ReTimer keepalive_timer_;           // upstream: send a keep-alive when it fires
    ReTimer downstream_deadline_timer_; // downstream: HRAS silent too long
    ReTimer flush_timer_;               // resumes a paused upload outside curl callbacks
};

} // namespace hrac
