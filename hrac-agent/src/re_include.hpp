// The one place HRAC includes libre. libre 1.1's headers decide basic types
// from feature macros its own build passes on the command line (pkg-config
// does not export them): without HAVE_STDBOOL_H, re_types.h redefines bool,
// true and false, which breaks C++; without HAVE_INET6, struct sa has no
// sockaddr_in6 member. These match libre's build on Linux (mk/re.mk).
#pragma once

#ifndef HAVE_INTTYPES_H
#define HAVE_INTTYPES_H 1
#endif
#ifndef HAVE_STDBOOL_H
#define HAVE_STDBOOL_H 1
#endif
#ifndef HAVE_INET6
#define HAVE_INET6 1
#endif

#include <re.h>
