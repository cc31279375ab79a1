// libcurl's multi-socket API driven by the libre event loop: curl tells us
// which sockets to watch (fd_listen) and when to call it back (a libre
// timer); we hand events back with curl_multi_socket_action() and then
// report finished transfers. No threads and no blocking calls.
#pragma once
#include "re_handle.hpp"

#include <curl/curl.h>

#include <functional>
#include <map>
#include <memory>

namespace hrac {

// curl_global_init()/curl_global_cleanup() for the lifetime of a run of the
// agent or of --check.
class CurlRuntime {
public:
    CurlRuntime() : rc_(curl_global_init(CURL_GLOBAL_DEFAULT)) {}
    ~CurlRuntime()
    {
        if (rc_ == CURLE_OK)
            curl_global_cleanup();
    }
    CurlRuntime(const CurlRuntime &) = delete;
    CurlRuntime &operator=(const CurlRuntime &) = delete;
    bool ok() const { return rc_ == CURLE_OK; }

private:
    CURLcode rc_;
};

class CurlLoop {
public:
    using DoneHandler = std::function<void(CURLcode result)>;

    CurlLoop();  // throws std::runtime_error if curl_multi_init() fails
    ~CurlLoop();
    CurlLoop(const CurlLoop &) = delete;
    CurlLoop &operator=(const CurlLoop &) = delete;

    // Starts a transfer. on_done runs once, outside any curl callback, when
    // it ends; by then the handle has left the multi and may be cleaned up.
    bool add(CURL *easy, DoneHandler on_done);
    // Stops a transfer early; its on_done will not run. Never call this
    // from inside a curl callback (curl forbids it): defer instead.
    void remove(CURL *easy);
    // Lets curl act now on something changed outside its callbacks (an
    // unpaused upload) instead of waiting for its next timer.
    void kick();

private:
    struct SocketWatch {
        CurlLoop *loop;
        curl_socket_t fd;
        FdWatch watch;
    };

    static int on_socket(CURL *easy, curl_socket_t fd, int what, void *loop, void *socketp);
    static int on_timer(CURLM *multi, long timeout_ms, void *loop);
    static void on_fd_event(int flags, void *socket_watch);

    void act(curl_socket_t fd, int curl_events);
    void report_finished();

    CURLM *multi_;
    ReTimer timer_;
    std::map<curl_socket_t, std::unique_ptr<SocketWatch>> sockets_;
    std::map<CURL *, DoneHandler> transfers_;
};

}  // namespace hrac
