// The one event loop of the module's relay process: file descriptors via
// epoll and coarse periodic timers. Everything in the process (HTTP tunnel,
// loopback endpoints, keep-alives) runs from it, on one thread. No
// exception leaves a handler: each one is caught where it was called and
// handed to the error handler, and the pass goes on with the next handler.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <vector>

namespace sofw::hras {

class EventLoop {
public:
    using FdHandler = std::function<void(uint32_t events)>;
    using Timer = std::function<void()>;
    using OnError = std::function<void(const char *what)>;

    EventLoop();
    ~EventLoop();
    EventLoop(const EventLoop &) = delete;
    EventLoop &operator=(const EventLoop &) = delete;

    bool add(int fd, uint32_t events, FdHandler h);
    void remove(int fd);
    // Timers and deferred work may name their owner: an object that goes
    // before the loop calls forget(this), and nothing of it runs later.
    //
    // Runs `t` every `interval_ms` (checked on each pass).
    void every(int interval_ms, Timer t, const void *owner = nullptr);
    // A fine-grained timer that costs no wake-ups while it has nothing to
    // do: like every(), but idle until run_timer(id, true), idle again
    // after run_timer(id, false). While it runs, run_once() waits no
    // longer than its next due time.
    size_t idle_timer(int interval_ms, Timer t, const void *owner = nullptr);
    void run_timer(size_t id, bool running);
    // Runs `t` after the current dispatch pass (coalesced work such as MHD_run).
    void defer(Timer t, const void *owner = nullptr) { deferred_.push_back({owner, std::move(t)}); }
    // Drops the timers and the deferred work of owner.
    void forget(const void *owner);
    // Waits at most max_ms, dispatches ready descriptors, due timers and deferred work.
    void run_once(int max_ms);
    // How long run_once(max_ms) would wait now for a descriptor: less when
    // a running timer is due sooner, 0 with deferred work.
    int wait_ms(int max_ms) const;
    // Told of every exception a handler, timer or deferred work let out.
    void on_error(OnError h) { on_error_ = std::move(h); }

private:
    struct Periodic {
        int interval_ms;
        int64_t next_ms;
        Timer fn;
        bool running = true;
        const void *owner = nullptr;
        bool forgotten = false;  // its owner is gone: never runs again
    };
    struct Deferred {
        const void *owner;
        Timer fn;
    };
    int epfd_;
    std::map<int, FdHandler> handlers_;
    std::vector<Periodic> periodic_;
    std::vector<Deferred> deferred_;
    std::vector<Deferred> running_;  // the deferred work being run
    OnError on_error_;

    template <class F>
    void guarded(F &&f);
};

int64_t now_ms();  // monotonic

}  // namespace sofw::hras
