// Password guessing on the status page costs the guesser time: after a few
// wrong passwords from one address, that address waits before it may try
// again, twice as long after each further failure (up to a cap), and is
// answered 429 with Retry-After meanwhile, even with the right password.
// A success forgets the address; so does a long quiet time.
//
// Bounded: at most `capacity` addresses. A new address in a full table
// takes the place of the one whose last failure is the oldest (counted by
// the caller); an attacker with many addresses thus loses its oldest
// backoffs, never blocks anyone who did not fail.
#pragma once
#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <unordered_map>

namespace sofw::hras {

class AuthBackoff {
public:
    struct Config {
        size_t capacity = 4096;
        unsigned free_failures = 3;         // wrong passwords before the first wait
        int64_t first_wait_ms = 1000;       // then 2 s, 4 s, ...
        int64_t max_wait_ms = 300000;       // 5 min at most
        int64_t forget_after_ms = 3600000;  // an hour without failures: forgotten
    };
    AuthBackoff() : AuthBackoff(Config{}) {}
    explicit AuthBackoff(Config cfg) : cfg_(cfg) {}

    // Milliseconds this address must still wait; 0: it may try now.
    int64_t wait_ms(const std::string &ip, int64_t now_ms) const;
    // A wrong password from ip. True if another address was dropped to make room.
    bool failed(const std::string &ip, int64_t now_ms);
    void succeeded(const std::string &ip);
    size_t size() const { return by_ip_.size(); }

private:
    struct Entry {
        std::string ip;
        unsigned failures = 0;
        int64_t last_failure = 0;
        int64_t blocked_until = 0;
    };
    Config cfg_;
    std::list<Entry> lru_;  // most recent failure first
    std::unordered_map<std::string, std::list<Entry>::iterator> by_ip_;
};

}  // namespace sofw::hras
