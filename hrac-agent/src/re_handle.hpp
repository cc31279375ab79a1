// RAII for the libre objects HRAC uses. libre objects are reference counted
// and freed with mem_deref(); timers and fd watches are plain registrations
// that must be cancelled. Owning them through these classes means no exit
// path can leave a socket open or a timer pointing at a destroyed object.
#pragma once
#include "re_include.hpp"

#include <cstdint>
#include <functional>
#include <utility>

namespace hrac {

// Owns one reference to a mem_alloc()ed libre object (udp_sock, mbuf, ...).
template <typename T>
class ReRef {
public:
    ReRef() = default;
    explicit ReRef(T *p) : p_(p) {}
    ~ReRef() { reset(); }
    ReRef(const ReRef &) = delete;
    ReRef &operator=(const ReRef &) = delete;
    ReRef(ReRef &&o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
    ReRef &operator=(ReRef &&o) noexcept
    {
        if (this != &o) {
            reset();
            p_ = std::exchange(o.p_, nullptr);
        }
        return *this;
    }

    T *get() const { return p_; }
    explicit operator bool() const { return p_ != nullptr; }
    void reset() { p_ = static_cast<T *>(mem_deref(p_)); }
    // For libre's allocating calls: udp_listen(ref.out(), ...).
    T **out()
    {
        reset();
        return &p_;
    }

private:
    T *p_ = nullptr;
};

// A libre timer with a C++ callback. Not movable: libre links the embedded
// struct tmr into its timer list by address.
class ReTimer {
public:
    ReTimer() { tmr_init(&tmr_); }
    ~ReTimer() { tmr_cancel(&tmr_); }
    ReTimer(const ReTimer &) = delete;
    ReTimer &operator=(const ReTimer &) = delete;

    // (Re)starts the timer; a running timer is rescheduled.
    void start(uint64_t delay_ms, std::function<void()> on_expire)
    {
        on_expire_ = std::move(on_expire);
        tmr_start(&tmr_, delay_ms, &ReTimer::trampoline, this);
    }
    void cancel() { tmr_cancel(&tmr_); }
    bool running() const { return tmr_isrunning(&tmr_); }

private:
    static void trampoline(void *arg)
    {
        auto *self = static_cast<ReTimer *>(arg);
        // Copy first: the callback may restart this timer with a new one.
        auto callback = self->on_expire_;
        callback();
    }

    struct tmr tmr_;
    std::function<void()> on_expire_;
};

// Watches a file descriptor in the libre loop until destroyed. Does not
// own (close) the descriptor itself.
class FdWatch {
public:
    FdWatch() = default;
    ~FdWatch() { stop(); }
    FdWatch(const FdWatch &) = delete;
    FdWatch &operator=(const FdWatch &) = delete;

    // flags: FD_READ | FD_WRITE | FD_EXCEPT. Returns 0 or an errno value.
    int listen(int fd, int flags, fd_h *handler, void *arg)
    {
        const int err = fd_listen(fd, flags, handler, arg);
        if (!err)
            fd_ = fd;
        return err;
    }
    void stop()
    {
        if (fd_ >= 0)
            fd_close(fd_);
        fd_ = -1;
    }
    int fd() const { return fd_; }

private:
    int fd_ = -1;
};

// libre_init()/libre_close() for the lifetime of main().
class LibreRuntime {
public:
    LibreRuntime() : err_(libre_init()) {}
    ~LibreRuntime()
    {
        if (!err_)
            libre_close();
    }
    LibreRuntime(const LibreRuntime &) = delete;
    LibreRuntime &operator=(const LibreRuntime &) = delete;
    int error() const { return err_; }

private:
    int err_;
};

}  // namespace hrac
