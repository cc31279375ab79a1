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

/* Counters of the `sofw` group; names in sofw_mod.c. */
enum hras_counter {
	HRAS_CNT_FRAMES_UP,
	HRAS_CNT_FRAMES_DOWN,
	HRAS_CNT_BYTES_UP,
	HRAS_CNT_BYTES_DOWN,
	HRAS_CNT_KEEPALIVES_SENT,
	HRAS_CNT_KEEPALIVES_RECEIVED,
	HRAS_CNT_SESSIONS_OPENED,
	HRAS_CNT_SESSIONS_CLOSED,
	HRAS_CNT_AUTH_FAILURES,
	HRAS_CNT_FRAME_ERRORS,
	HRAS_CNT_SIP_UP,
	HRAS_CNT_SIP_DOWN,
	HRAS_CNT_SIP_NO_TUNNEL,
	HRAS_CNT_SIP_MALFORMED,
	HRAS_CNT_MEDIA_PACKETS_UP,
	HRAS_CNT_MEDIA_PACKETS_DOWN,
	HRAS_CNT_MEDIA_BYTES_UP,
	HRAS_CNT_MEDIA_BYTES_DOWN,
	HRAS_CNT_MEDIA_DROPPED,
	HRAS_CNT_MEDIA_WRONG_SOURCE,
	HRAS_CNT_SDP_REWRITTEN,
	HRAS_CNT_SDP_UNPARSED,
	HRAS_CNT_PORTS_EXHAUSTED,
	HRAS_CNT_HRAC_MEDIA_FAILED,
	HRAS_CNT_RAT_CREATED,
	HRAS_CNT_RAT_REMOVED,
	HRAS_CNT_RAT_EXPIRED,
	HRAS_CNT_COUNT
};

enum hras_log_level { HRAS_LOG_ERR, HRAS_LOG_WARN, HRAS_LOG_INFO, HRAS_LOG_DBG };

/* What the relay process publishes about a site for RPC and counters. */
struct hras_site_state {
	int up;              /* session up: both streaming channels open, or polled */
	char mode[8];        /* "stream" or "poll" while up, else "" */
	char session[40];
	char hrac_lan[64];   /* HRAC's LAN SIP address */
	char peer[64];       /* where the tunnel comes from (proxy or NAT) */
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
};

/* Configuration: any process, before the fork. 0 on success. */
int hras_add_site(const char *spec, char *err, int err_len);
int hras_configure(const struct hras_config *cfg, char *err, int err_len);
void hras_set_hooks(const struct hras_hooks *hooks);
int hras_site_count(void);
const char *hras_site_name(int site);
const char *hras_site_domain(int site);
const char *hras_site_addr(int site);
/* Index of the site whose loopback address is ip (len bytes), or -1. */
int hras_site_by_addr(const char *ip, int len);
/* Index of the site named name, or -1. */
int hras_site_by_name(const char *name);
/* The counter's name in the `sofw` group ("tunnel_frames_up", ...). */
const char *hras_counter_name(int counter);

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
