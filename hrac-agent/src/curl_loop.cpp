#include "curl_loop.hpp"

#include "log.hpp"

#include <cstring>
#include <stdexcept>
#include <vector>

namespace hrac {

CurlLoop::CurlLoop() : multi_(curl_multi_init())
{
    if (!multi_)
        throw std::runtime_error("curl_multi_init failed");
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &CurlLoop::on_socket);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &CurlLoop::on_timer);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
}

CurlLoop::~CurlLoop()
{
    for (const auto &transfer : transfers_)
        curl_multi_remove_handle(multi_, transfer.first);
    transfers_.clear();
    // Stop watching while curl's sockets are still open, and keep curl from
    // calling back into a half-destroyed object during cleanup.
    sockets_.clear();
    timer_.cancel();
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, nullptr);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, nullptr);
    curl_multi_cleanup(multi_);
}

bool CurlLoop::add(CURL *easy, DoneHandler on_done)
{
    const CURLMcode rc = curl_multi_add_handle(multi_, easy);
    if (rc != CURLM_OK) {
        log_error("curl_multi_add_handle: %s", curl_multi_strerror(rc));
        return false;
    }
    transfers_[easy] = std::move(on_done);
    return true;
}

void CurlLoop::remove(CURL *easy)
{
    if (transfers_.erase(easy))
        curl_multi_remove_handle(multi_, easy);
}

void CurlLoop::kick() { act(CURL_SOCKET_TIMEOUT, 0); }

int CurlLoop::on_socket(CURL *, curl_socket_t fd, int what, void *loop_arg, void *)
{
    auto *loop = static_cast<CurlLoop *>(loop_arg);
    if (what == CURL_POLL_REMOVE) {
        loop->sockets_.erase(fd);  // FdWatch's destructor calls fd_close()
        return 0;
    }

    auto &slot = loop->sockets_[fd];
    if (!slot)
        slot.reset(new SocketWatch{loop, fd, {}});
    int flags = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        flags |= FD_READ;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        flags |= FD_WRITE;
    if (const int err = slot->watch.listen(fd, flags, &CurlLoop::on_fd_event, slot.get()))
        log_error("fd_listen(%d): %s", static_cast<int>(fd), strerror(err));
    return 0;
}

int CurlLoop::on_timer(CURLM *, long timeout_ms, void *loop_arg)
{
    auto *loop = static_cast<CurlLoop *>(loop_arg);
    // curl forbids calling socket_action from here: run it from the timer.
    if (timeout_ms < 0)
        loop->timer_.cancel();
    else
        loop->timer_.start(static_cast<uint64_t>(timeout_ms), [loop] { loop->act(CURL_SOCKET_TIMEOUT, 0); });
    return 0;
}

void CurlLoop::on_fd_event(int flags, void *watch_arg)
{
    // Copy what we need: curl may drop this socket (and its watch) while
    // handling the event.
    const auto *watch = static_cast<SocketWatch *>(watch_arg);
    CurlLoop *loop = watch->loop;
    const curl_socket_t fd = watch->fd;
    int events = 0;
    if (flags & FD_READ)
        events |= CURL_CSELECT_IN;
    if (flags & FD_WRITE)
        events |= CURL_CSELECT_OUT;
    if (flags & FD_EXCEPT)
        events |= CURL_CSELECT_ERR;
    loop->act(fd, events);
}

void CurlLoop::act(curl_socket_t fd, int curl_events)
{
    int running = 0;
    const CURLMcode rc = curl_multi_socket_action(multi_, fd, curl_events, &running);
    if (rc != CURLM_OK)
        log_error("curl_multi_socket_action: %s", curl_multi_strerror(rc));
    report_finished();
}

void CurlLoop::report_finished()
{
    int queued = 0;
    while (CURLMsg *msg = curl_multi_info_read(multi_, &queued)) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *easy = msg->easy_handle;
        const CURLcode result = msg->data.result;
        // A handler may already have removed this transfer (e.g. a session
        // dropping both of its channels when the first one ends).
        const auto it = transfers_.find(easy);
        if (it == transfers_.end())
            continue;
        DoneHandler on_done = std::move(it->second);
        transfers_.erase(it);
        curl_multi_remove_handle(multi_, easy);
        on_done(result);
    }
}

}  // namespace hrac
