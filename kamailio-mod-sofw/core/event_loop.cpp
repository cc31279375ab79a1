#include "event_loop.hpp"

#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <exception>
#include <stdexcept>

namespace sofw::hras {

int64_t now_ms()
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

EventLoop::EventLoop() : epfd_(epoll_create1(EPOLL_CLOEXEC))
{
    if (epfd_ < 0)
        throw std::runtime_error("epoll_create1 failed");
}

EventLoop::~EventLoop() { close(epfd_); }

bool EventLoop::add(int fd, uint32_t events, FdHandler h)
{
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0)
        return false;
    handlers_[fd] = std::move(h);
    return true;
}

void EventLoop::remove(int fd)
{
    epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
    handlers_.erase(fd);
}

void EventLoop::every(int interval_ms, Timer t, const void *owner)
{
    periodic_.push_back({interval_ms, now_ms() + interval_ms, std::move(t), true, owner});
}

size_t EventLoop::idle_timer(int interval_ms, Timer t, const void *owner)
{
    periodic_.push_back({interval_ms, 0, std::move(t), false, owner});
    return periodic_.size() - 1;
}

void EventLoop::run_timer(size_t id, bool running)
{
    if (id >= periodic_.size() || periodic_[id].forgotten || periodic_[id].running == running)
        return;
    periodic_[id].running = running;
    if (running)
        periodic_[id].next_ms = now_ms() + periodic_[id].interval_ms;
}

// The entries stay (a timer's id is its index); their functions are never
// called again, and deferred work of the owner is dropped.
void EventLoop::forget(const void *owner)
{
    if (!owner)
        return;
    for (auto &p : periodic_)
        if (p.owner == owner) {
            p.running = false;
            p.forgotten = true;
        }
    deferred_.erase(std::remove_if(deferred_.begin(), deferred_.end(),
                                   [owner](const Deferred &d) { return d.owner == owner; }),
                    deferred_.end());
}

template <class F>
void EventLoop::guarded(F &&f)
{
    try {
        f();
    } catch (const std::exception &e) {
        if (on_error_)
            on_error_(e.what());
    } catch (...) {
        if (on_error_)
            on_error_("unknown exception");
    }
}

int EventLoop::wait_ms(int max_ms) const
{
    int64_t now = now_ms();
    for (auto &p : periodic_)
        if (p.running)
            max_ms = int(std::min<int64_t>(max_ms, std::max<int64_t>(0, p.next_ms - now)));
    return deferred_.empty() ? max_ms : 0;
}

void EventLoop::run_once(int max_ms)
{
    epoll_event evs[64];
    int n = epoll_wait(epfd_, evs, 64, wait_ms(max_ms));
    for (int i = 0; i < n; i++) {
        auto it = handlers_.find(evs[i].data.fd);
        if (it == handlers_.end())
            continue;
        // A handler may remove descriptors (even its own): call a copy.
        FdHandler h = it->second;
        guarded([&] { h(evs[i].events); });
    }
    int64_t now = now_ms();
    for (size_t i = 0; i < periodic_.size(); i++) {
        if (periodic_[i].running && periodic_[i].next_ms <= now) {
            periodic_[i].next_ms = now + periodic_[i].interval_ms;
            guarded([&] { periodic_[i].fn(); });
        }
    }
    // Swapped, not moved: both vectors keep their room, so waking a channel
    // for every frame allocates nothing once they have grown.
    while (!deferred_.empty()) {
        running_.swap(deferred_);
        for (auto &w : running_)
            guarded(w.fn);
        running_.clear();
    }
}

}  // namespace sofw::hras
