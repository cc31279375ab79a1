// The relay process's event loop is its last barrier: whatever a handler,
// timer or deferred job throws is reported and costs only that handler's
// work; every other descriptor of the pass is still served.
#include "core/event_loop.hpp"

#include <gtest/gtest.h>

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <stdexcept>
#include <string>
#include <vector>

using namespace sofw::hras;

namespace {

struct EventFd {
    int fd = eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC);  // readable at once
    ~EventFd() { close(fd); }
};

}  // namespace

TEST(EventLoop, AThrowingHandlerIsReportedAndTheOthersStillRun)
{
    EventLoop loop;
    std::vector<std::string> errors;
    loop.on_error([&](const char *what) { errors.push_back(what); });
    EventFd bad, good;
    int good_calls = 0, deferred = 0;
    ASSERT_TRUE(loop.add(bad.fd, EPOLLIN, [&](uint32_t) { throw std::out_of_range("bad frame"); }));
    ASSERT_TRUE(loop.add(good.fd, EPOLLIN, [&](uint32_t) {
        uint64_t v;
        (void)read(good.fd, &v, sizeof v);
        good_calls++;
    }));
    loop.defer([] { throw std::runtime_error("deferred"); });
    loop.defer([&] { deferred++; });
    loop.every(0, [] { throw 42; });

    loop.run_once(100);
    EXPECT_EQ(1, good_calls);
    EXPECT_EQ(1, deferred) << "the next deferred job still runs";
    ASSERT_EQ(3u, errors.size());
    EXPECT_EQ("bad frame", errors[0]);
    EXPECT_EQ("unknown exception", errors[1]);
    EXPECT_EQ("deferred", errors[2]);

    // And the loop goes on serving.
    uint64_t one = 1;
    ASSERT_EQ(ssize_t(sizeof one), write(good.fd, &one, sizeof one));
    loop.run_once(100);
    EXPECT_EQ(2, good_calls);
}

TEST(EventLoop, AnIdleTimerRunsOnlyWhileItIsWanted)
{
    EventLoop loop;
    int calls = 0;
    size_t id = loop.idle_timer(5, [&] { calls++; });
    EXPECT_EQ(1000, loop.wait_ms(1000)) << "an idle timer does not wake the loop";
    loop.run_once(20);  // past its interval: idle, so not run
    EXPECT_EQ(0, calls);
    loop.run_timer(id, true);
    EXPECT_LE(loop.wait_ms(1000), 5) << "a running timer does";
    while (calls == 0)
        loop.run_once(1000);
    loop.run_timer(id, false);
    EXPECT_EQ(1000, loop.wait_ms(1000));
    loop.run_once(20);
    EXPECT_EQ(1, calls);
}

TEST(EventLoop, NothingOfAForgottenOwnerRunsAgain)
{
    EventLoop loop;
    int gone = 0, kept = 0;
    int owner, other;
    loop.every(0, [&] { gone++; }, &owner);
    size_t idle = loop.idle_timer(0, [&] { gone++; }, &owner);
    loop.run_timer(idle, true);
    loop.every(0, [&] { kept++; }, &other);
    loop.defer([&] { gone++; }, &owner);
    loop.defer([&] { kept++; }, &other);
    loop.forget(&owner);
    loop.run_timer(idle, true);  // a forgotten timer cannot be started again
    loop.run_once(0);
    loop.run_once(0);
    EXPECT_EQ(0, gone);
    EXPECT_EQ(3, kept) << "the other owner's timer twice, its deferred work once";
}
