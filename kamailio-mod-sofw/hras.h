/*
 * The boundary between the module's C glue (sofw_mod.c: Kamailio APIs) and
 * the HRAS core in C++ (core/: tunnel, site endpoints, translation). The core
 * never includes Kamailio headers; it reports through hras_hooks.
 */
#ifndef SOFW_HRAS_H
#define SOFW_HRAS_H

#ifdef __cplusplus
extern "C" {
#endif

/* The counters of the `sofw` group, declared here once: X(id, name,
 * description). The enum below, the Kamailio counter definitions (sofw_mod.c:
 * kamcmd cnt.* and sofw.stats, Prometheus through xhttp_prom) and the status
 * page's counters all come from this list, in its order. The relay process
 * counts them (hras_hooks.counter_add). Readable
 * from C and C++: plain macros and string literals. */
#define HRAS_COUNTERS(X) \
	X(FRAMES_UP, "tunnel_frames_up", "frames received from HRACs") \
	X(FRAMES_DOWN, "tunnel_frames_down", "frames sent to HRACs") \
	X(BYTES_UP, "tunnel_bytes_up", "frame bytes received from HRACs") \
	X(BYTES_DOWN, "tunnel_bytes_down", "frame bytes sent to HRACs") \
	X(KEEPALIVES_SENT, "keepalives_sent", "keep-alive frames sent") \
	X(KEEPALIVES_RECEIVED, "keepalives_received", \
			"keep-alive frames received") \
	X(SESSIONS_OPENED, "sessions_opened", \
			"tunnel sessions that came up (first connects and reconnects)") \
	X(SESSIONS_CLOSED, "sessions_closed", "tunnel sessions that went down") \
	X(AUTH_FAILURES, "auth_failures", \
			"tunnel requests refused by site authentication") \
	X(FRAME_ERRORS, "frame_errors", \
			"malformed frames (the session is dropped)") \
	X(SIP_UP, "sip_from_sites", \
			"SIP messages from internal phones handed to Kamailio") \
	X(SIP_DOWN, "sip_to_sites", \
			"SIP messages sent down a tunnel to internal phones") \
	X(SIP_NO_TUNNEL, "sip_no_tunnel", \
			"SIP messages for internal phones dropped: site not connected") \
	X(SIP_MALFORMED, "sip_malformed", \
			"malformed SIP messages dropped at the tunnel boundary") \
	X(MEDIA_PACKETS_UP, "media_packets_up", \
			"RTP/RTCP packets from internal phones relayed out") \
	X(MEDIA_PACKETS_DOWN, "media_packets_down", \
			"RTP/RTCP packets relayed down to internal phones") \
	X(MEDIA_BYTES_UP, "media_bytes_up", \
			"media payload bytes from internal phones") \
	X(MEDIA_BYTES_DOWN, "media_bytes_down", \
			"media payload bytes to internal phones") \
	X(MEDIA_DROPPED, "media_dropped", \
			"media packets dropped (no RAT entry, no tunnel, no endpoint yet)") \
	X(MEDIA_WRONG_SOURCE, "media_wrong_source", \
			"media packets refused: not from the latched source") \
	X(SDP_REWRITTEN, "sdp_rewritten", \
			"SDP bodies rewritten at the tunnel boundary") \
	X(SDP_UNPARSED, "sdp_parse_failures", \
			"SDP bodies not understood (passed on unchanged)") \
	X(PORTS_EXHAUSTED, "ports_exhausted", \
			"calls refused (503) for lack of media ports") \
	X(HRAC_MEDIA_FAILED, "hrac_media_failed", \
			"LAN media ports an HRAC could not open") \
	X(RAT_CREATED, "rat_created", "RAT entries created") \
	X(RAT_REMOVED, "rat_removed", \
			"RAT entries removed (BYE, CANCEL, failure, timeout)") \
	X(RAT_EXPIRED, "rat_expired", \
			"RAT entries removed by the inactivity timeout") \
	X(RA_INVALID, "ra_invalid", \
			"frames dropped: their RA header names no possible LAN phone") \
	X(INTERNAL_ERRORS, "internal_errors", \
			"messages dropped because handling them failed unexpectedly") \
	X(MEDIA_FOREIGN_SOURCE, "media_foreign_source", \
			"media packets refused: not from the far side's SDP or SIP address") \
	X(MEDIA_WRONG_PHONE, "media_wrong_phone", \
			"media frames from HRACs refused: not from the leg's phone") \
	X(MEDIA_BIND_FAILURES, "media_bind_failures", \
			"public media port binds that failed (the port is retried later)") \
	X(RTP_PACKETS_UP, "rtp_packets_up", \
			"RTP packets from internal phones measured as they came out of the tunnel") \
	X(RTP_PACKETS_DOWN, "rtp_packets_down", \
			"RTP packets from the far side measured as HRAS relayed them into the tunnel") \
	X(RTP_LOST_UP, "rtp_lost_up", \
			"RTP packets from internal phones missing (sequence gaps) as they came out of the tunnel") \
	X(RTP_LOST_DOWN, "rtp_lost_down", \
			"RTP packets from the far side missing (sequence gaps) in what HRAS relayed into the tunnel") \
	X(RTP_LATE_60_UP, "rtp_late_60ms_up", \
			"RTP packets out of the tunnel more than 60 ms behind their timestamp's schedule") \
	X(RTP_LATE_150_UP, "rtp_late_150ms_up", \
			"RTP packets out of the tunnel more than 150 ms behind their timestamp's schedule") \
	X(RTP_LATE_60_DOWN, "rtp_late_60ms_down", \
			"RTP packets from the far side more than 60 ms behind their timestamp's schedule") \
	X(RTP_LATE_150_DOWN, "rtp_late_150ms_down", \
			"RTP packets from the far side more than 150 ms behind their timestamp's schedule") \
	X(MEDIA_NOT_RTP, "media_not_rtp", \
			"packets relayed on RTP ports that are not RTP (no quality figures)") \
	X(SITE_PHONES_REFUSED, "site_phones_refused", \
			"SIP from a new phone dropped: its site has site_max_phones") \
	X(TUNNEL_CONN_REFUSED, "tunnel_connections_refused", \
			"tunnel connections refused: tunnel_max_connections open") \
	X(TUNNEL_CONN_REFUSED_IP, "tunnel_connections_refused_per_ip", \
			"tunnel connections refused: tunnel_max_connections_per_ip open from that address") \
	X(TUNNEL_HEADER_TIMEOUTS, "tunnel_header_timeouts", \
			"tunnel connections closed: no complete request within tunnel_header_timeout") \
	X(FD_LIMIT_CLAMPED, "fd_limit_clamped", \
			"tunnel_max_connections lowered at start to fit the descriptor limit") \
	X(TUNNEL_QUEUE_OVERFLOWS, "tunnel_queue_overflows", \
			"sessions dropped: more than tunnel_queue_limit waiting for a slow reader") \
	X(REPLAY_CACHE_FULL, "replay_cache_full", \
			"tunnel requests refused (503): the site's replay cache was full") \
	X(STATUS_BACKOFF, "status_auth_backoff", \
			"status page requests refused (429): too many wrong passwords from that address") \
	X(STATUS_BACKOFF_TABLE_FULL, "status_backoff_table_full", \
			"status page backoff entries dropped to make room (status_backoff_size)") \
	X(SDP_MEDIA_LINES_LIMIT, "sdp_media_lines_limit", \
			"SDP bodies with more m-lines than max_media_lines (the rest declined)") \
	X(SDP_NO_CALL, "sdp_outside_calls", \
			"SDP bodies outside INVITE/UPDATE/PRACK/ACK of a call: declined, no ports") \
	X(SDP_UNRELAYABLE, "sdp_unrelayable_streams", \
			"SDP streams of phones declined: no IPv4 address to relay to") \
	X(SITE_LEGS_LIMIT, "site_legs_limit", \
			"call legs refused: the site has site_max_legs") \
	X(SOURCE_LEGS_LIMIT, "source_legs_limit", \
			"call legs refused: their public source IP has source_max_legs") \
	X(OFFERS_UNANSWERED, "offers_unanswered", \
			"call legs released: their offer had no answer within offer_timeout") \
	X(BYPASS_REFUSED, "bypass_refused", \
			"SDP naming the public port of another call: relayed, no LAN bypass") \
	X(SDP_FOREIGN_DIALOG, "sdp_foreign_dialog", \
			"SDP (or BYE, CANCEL) with a live call's Call-ID from another dialog: refused") \
	X(RECORD_ERRORS, "record_errors", \
			"tunnel records from HRACs that failed (tampered, injected, replayed, reordered, cut; the session is dropped)") \
	X(LANE_RESENT, "lane_resent", \
			"media frames sent again to HRACs on another lane (their lane stalled)") \
	X(LANE_STALLS, "lane_stalls", \
			"times a lane to an HRAC was found stalled (unacknowledged media older than the hedge delay)") \
	X(LANE_LATE_DROPPED, "lane_late_dropped", \
			"media frames to HRACs not sent again: past the media deadline when their lane stalled") \
	X(LANE_HISTORY_FULL, "lane_history_full", \
			"copies of media to HRACs forgotten before their ack: the copy store (2 MiB per session) was full") \
	X(LANE_DUPLICATES, "lane_duplicates", \
			"media frames from HRACs dropped as second copies (or older than the duplicates window)") \
	X(LANE_INVALID, "lane_invalid", \
			"lane frames from HRACs dropped: sequenced media or LANE_ACK the session's lanes do not allow")

/* The values of the `sofw` group that say how things are now, declared here
 * once like the counters, which they follow in the group and on the status
 * page. They are derived from the published site states and RAT by
 * hras_site_gauges() and hras_rat_gauges(), the one place that computes
 * them, for the Kamailio counters (from shared memory) and the status page
 * alike; reading them changes nothing. */
#define HRAS_GAUGES(X) \
	X(ACTIVE_CALLS, "active_calls", "call legs in the RAT") \
	X(MEDIA_PORTS_HRAS, "media_ports_hras", \
			"HRAS public media port pairs in use") \
	X(MEDIA_PORTS_HRAC, "media_ports_hrac", \
			"HRAC LAN media port pairs in use (all sites)") \
	X(ACTIVE_SITES, "active_sites", "sites whose tunnel is up") \
	X(PHONES, "phones", "internal phones with a loopback endpoint")

#define HRAS_CNT_ENUM_ITEM(id, name, description) HRAS_CNT_##id,
enum hras_counter { HRAS_COUNTERS(HRAS_CNT_ENUM_ITEM) HRAS_CNT_COUNT };
#undef HRAS_CNT_ENUM_ITEM

#define HRAS_GAUGE_ENUM_ITEM(id, name, description) HRAS_GAUGE_##id,
enum hras_gauge { HRAS_GAUGES(HRAS_GAUGE_ENUM_ITEM) HRAS_GAUGE_COUNT };
#undef HRAS_GAUGE_ENUM_ITEM

enum hras_log_level { HRAS_LOG_ERR, HRAS_LOG_WARN, HRAS_LOG_INFO, HRAS_LOG_DBG };

/* What the relay process publishes about a site for RPC and counters. */
struct hras_site_state {
	int up;              /* session up: both streaming channels open, or polled */
	char mode[8];        /* "stream" or "poll" while up, else "" */
	char session[40];
	char hrac_lan[64];   /* HRAC's LAN SIP address */
	char peer[64];       /* where the tunnel comes from (proxy or NAT) */
	int lanes;           /* the session's lanes while up (1..8; polling: 1), else 0 */
	long since;          /* unix time of the last state change */
	unsigned long phones;
};

/* One media stream of one RAT entry, as published for `sofw.rat`. */
struct hras_rat_row {
	int site;
	char call_id[128];
	char from[128];
	char to[128];
	int stream;               /* m-line index */
	char media[16];
	char internal[64];        /* IIP:IPort (the phone) */
	char external[64];        /* OIP:OPort (the far side) */
	int hras_port;            /* HRAS public RTP port, 0: none */
	int hrac_port;            /* HRAC LAN RTP port, 0: none */
	int bypass;               /* both ends in one LAN: no relay */
	int latched;              /* external endpoint learned from media */
	unsigned long packets_up; /* from the phone */
	unsigned long packets_down;
	long age;                 /* seconds since the entry was created */
	long idle;                /* seconds since the last SIP or media */
	/* Media quality of the RTP HRAS relayed (core/rtp_quality.hpp), each
	 * way: up = phone -> far side, as it came out of the tunnel; down = far
	 * side -> phone, as it went into the tunnel. Percentages 0..100,
	 * rounded to 0.01. */
	double loss_up, loss_down;       /* % of the expected packets missing */
	double jitter_up, jitter_down;   /* interarrival jitter, ms (RFC 3550) */
	double late60_up, late60_down;   /* % of packets > 60 ms behind schedule */
	double late150_up, late150_down; /* % of packets > 150 ms behind schedule */
};

/* One internal phone with a loopback endpoint, as published for
 * `sofw.phones`. */
struct hras_phone_row {
	int site;
	char lan[64];             /* the phone's LAN SIP address (RA header) */
	char endpoint[64];        /* its loopback endpoint towards Kamailio */
	long idle;                /* seconds since its last SIP message */
};

struct hras_hooks {
	void (*log)(int level, const char *msg);
	void (*counter_add)(int counter, unsigned long n);
	void (*site_state)(int site, const struct hras_site_state *st);
	/* the whole RAT, replacing what was published before, and how many
	 * media ports are in use on HRAS and (over all sites) on HRACs */
	void (*rat_publish)(const struct hras_rat_row *rows, int n,
			int hras_ports, int hrac_ports);
	/* all internal phones, replacing what was published before (when one
	 * comes or goes, and once a second for the idle times) */
	void (*phones_publish)(const struct hras_phone_row *rows, int n);
};

struct hras_config {
	const char *tunnel_listen;  /* "0.0.0.0:80" */
	const char *sip_socket;     /* the module's Kamailio SIP socket "127.0.0.1:5062" */
	const char *loopback_base;  /* sites get addresses after this one */
	int keepalive_interval;     /* seconds */
	int auth_window;            /* seconds */
	int phone_idle_timeout;     /* seconds */
	const char *media_address;  /* public IPv4 for relayed media; "" = no relay */
	int rtp_port_min;
	int rtp_port_max;
	int media_timeout;          /* seconds without SIP or media before a RAT entry expires */
	/* Media limits; 0 = the core's default (32, 8, 1000, 50). */
	int offer_timeout;          /* seconds an offer may go unanswered before its ports go */
	int max_media_lines;        /* m-lines relayed per SDP */
	int site_max_legs;          /* call legs per site */
	int source_max_legs;        /* call legs created by one public source IP */
	/* TLS for the tunnel server: PEM *contents* (the glue reads the files);
	 * NULL or "" = none. Cert and key together; the client CA makes HRAC
	 * client certificates mandatory. */
	const char *tls_cert;
	const char *tls_key;
	const char *tls_client_ca;
	/* The status page (GET /sofw/status on the tunnel server), HTTP Basic
	 * auth with these; both NULL or "" = no status page. */
	const char *status_user;
	const char *status_password;
	/* Limits (docs/security.md "Limits"); 0 = the default. */
	int site_max_phones;            /* loopback endpoints per site */
	int tunnel_max_connections;     /* open tunnel server connections */
	int tunnel_max_connections_per_ip;
	int tunnel_header_timeout;      /* seconds to send a complete request */
	int tunnel_queue_limit;         /* KiB waiting down per session */
	int replay_cache_size;          /* nonces per site */
	int status_backoff_size;        /* addresses the status page backs off */
	int tunnel_lanes;               /* most lanes a streaming session may have, 1..8 */
	int tunnel_coalesce_ms;         /* ms media may wait to share a write, 0..20 */
};

/* Configuration: any process, before the fork. 0 on success. */
int hras_add_site(const char *spec, char *err, int err_len);
int hras_configure(const struct hras_config *cfg, char *err, int err_len);
void hras_set_hooks(const struct hras_hooks *hooks);
int hras_site_count(void);
const char *hras_site_name(int site);
const char *hras_site_domain(int site);
const char *hras_site_addr(int site);
/* The SIP header in which sofw_relay() hands the relay process the address
 * a message came from (the relay removes it before the message goes down). */
#define HRAS_SOURCE_HEADER "X-SoFW-Source"
/* Index of the site whose loopback address is ip (len bytes), or -1. */
int hras_site_by_addr(const char *ip, int len);
/* Index of the site one of whose SIP domains is domain (len bytes,
 * case-insensitive), or -1. */
int hras_site_by_domain(const char *domain, int len);
/* 1 if domain (len bytes) is one of site's SIP domains, else 0. */
int hras_site_has_domain(int site, const char *domain, int len);
/* Index of the site named name, or -1. */
int hras_site_by_name(const char *name);
/* The counter's name in the `sofw` group ("tunnel_frames_up", ...). */
const char *hras_counter_name(int counter);
/* The gauge's name ("active_calls", ...). */
const char *hras_gauge_name(int gauge);
/* The gauges derived from published site states (active_sites, phones) and
 * from the published RAT (active_calls, media_ports_*): each sets its own
 * entries of out[HRAS_GAUGE_COUNT] and leaves the others alone. */
void hras_site_gauges(const struct hras_site_state *sites, int n, unsigned long *out);
void hras_rat_gauges(const struct hras_rat_row *rows, int n, int hras_ports, int hrac_ports, unsigned long *out);

/* The relay process. */
int hras_start(char *err, int err_len);
void hras_poll(int max_ms);
void hras_stop(void);
/* Closes the site's tunnel session now (HRAC reconnects). 1: a session was
 * closed, 0: the site had none, -1: no such site or not running. */
int hras_kick(int site);

#ifdef __cplusplus
}
#endif
#endif
