/*
 * sofw module: HRAS, the public half of SoFW (SIP over FireWall).
 *
 * Thin glue between Kamailio and the C++ core (hras.h): module parameters,
 * script functions and their KEMI exports, the $sofw(...) variable, RPC
 * commands, counters, and the module's own relay process that runs the
 * HTTP tunnel server and the per-phone loopback endpoints.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/sr_module.h"
#include "core/dprint.h"
#include "core/mem/shm_mem.h"
#include "core/mem/mem.h"
#include "core/locking.h"
#include "core/pt.h"
#include "core/cfg/cfg_struct.h"
#include "core/counters.h"
#include "core/rpc.h"
#include "core/rpc_lookup.h"
#include "core/pvar.h"
#include "core/ut.h"
#include "core/socket_info.h"
#include "core/ip_addr.h"
#include "core/kemi.h"
#include "core/parser/msg_parser.h"
#include "core/parser/parse_uri.h"
#include "core/mod_fix.h"
#include "core/data_lump.h"

#include "hras.h"
#include "sofw/defaults.h"

MODULE_VERSION

/* module parameters */
static char *sofw_tunnel_listen = "0.0.0.0:80";
static char *sofw_sip_socket = "127.0.0.1:5062";
static char *sofw_loopback_base = "127.1.0.0";
static int sofw_keepalive_interval = SOFW_DEFAULT_KEEPALIVE_INTERVAL_S;
static int sofw_auth_window = SOFW_DEFAULT_AUTH_WINDOW_S;
static int sofw_phone_idle_timeout = 7200;
static char *sofw_media_address = "";
static int sofw_rtp_port_min = 30000;
static int sofw_rtp_port_max = 39999;
static int sofw_media_timeout = 120;
static int sofw_rat_rows = 4096;
static char *sofw_tls_cert = "";
static char *sofw_tls_key = "";
static char *sofw_tls_client_ca = "";
static char *sofw_status_user = "";
static char *sofw_status_password = "";
static int sofw_phone_rows = 4096;
/* limits (docs/security.md "Limits") */
static int sofw_site_max_phones = 1000;
static int sofw_tunnel_max_connections = 1000;
static int sofw_tunnel_max_connections_per_ip = 32;
static int sofw_tunnel_header_timeout = 10;
static int sofw_tunnel_queue_limit = 4096; /* KiB */
static int sofw_replay_cache_size = 100000;
static int sofw_status_backoff_size = 4096;
static int sofw_rpc_page_rows = 100;
static int sofw_offer_timeout = 32;
static int sofw_max_media_lines = 8;
static int sofw_site_max_legs = 1000;
static int sofw_source_max_legs = 50;
static int sofw_tunnel_lanes = 4;
static int sofw_tunnel_coalesce_ms = SOFW_DEFAULT_COALESCE_MS;

/* the Kamailio socket reserved for tunnel traffic (sip_socket) */
static struct socket_info *sofw_sock = NULL;

/* site states published by the relay process, read by RPC and counters */
static struct hras_site_state *sofw_states = NULL;
static gen_lock_t *sofw_states_lock = NULL;

/* the RAT as published by the relay process, read by sofw.rat */
static struct hras_rat_row *sofw_rat = NULL;
static int *sofw_rat_n = NULL;
static int *sofw_rat_total = NULL;
static gen_lock_t *sofw_rat_lock = NULL;

/* the internal phones as published by the relay process, read by
 * sofw.phones */
static struct hras_phone_row *sofw_phones = NULL;
static int *sofw_phones_n = NULL; /* rows kept, rows published */
static gen_lock_t *sofw_phones_lock = NULL;

/* sofw.kick: the RPC process raises `requested`, the relay process closes
 * the site's session and sets `done` to the request it served */
struct sofw_kick {
	unsigned int requested;
	unsigned int done;
	int result; /* of the last kick served: 1 closed, 0 no session */
};
static struct sofw_kick *sofw_kicks = NULL;
static gen_lock_t *sofw_kicks_lock = NULL;

static counter_handle_t sofw_cnt[HRAS_CNT_COUNT];

static int mod_init(void);
static int child_init(int rank);
static void mod_destroy(void);
static int sofw_param_site(modparam_t type, void *val);
static int w_sofw_relay(sip_msg_t *msg, char *p1, char *p2);
static int w_sofw_is_from_site(sip_msg_t *msg, char *p1, char *p2);
static int w_sofw_is_site_domain(sip_msg_t *msg, char *p1, char *p2);
static int w_sofw_is_internal_domain(sip_msg_t *msg, char *p1, char *p2);
static int pv_parse_sofw_name(pv_spec_p sp, str *in);
static int pv_get_sofw(sip_msg_t *msg, pv_param_t *param, pv_value_t *res);
static void sofw_rpc_sites(rpc_t *rpc, void *ctx);
static void sofw_rpc_stats(rpc_t *rpc, void *ctx);
static void sofw_rpc_rat(rpc_t *rpc, void *ctx);
static void sofw_rpc_phones(rpc_t *rpc, void *ctx);
static void sofw_rpc_kick(rpc_t *rpc, void *ctx);

/* clang-format off */
static cmd_export_t cmds[] = {
	{"sofw_relay", (cmd_function)w_sofw_relay, 0, 0, 0,
		REQUEST_ROUTE | FAILURE_ROUTE | BRANCH_ROUTE | ONREPLY_ROUTE},
	{"sofw_is_from_site", (cmd_function)w_sofw_is_from_site, 0, 0, 0,
		ANY_ROUTE},
	{"sofw_is_site_domain", (cmd_function)w_sofw_is_site_domain, 1,
		fixup_spve_null, fixup_free_spve_null, ANY_ROUTE},
	{"sofw_is_internal_domain", (cmd_function)w_sofw_is_internal_domain, 1,
		fixup_spve_null, fixup_free_spve_null, ANY_ROUTE},
	{0, 0, 0, 0, 0, 0}
};

static param_export_t params[] = {
	{"site", PARAM_STRING | PARAM_USE_FUNC, (void *)sofw_param_site},
	{"tunnel_listen", PARAM_STRING, &sofw_tunnel_listen},
	{"sip_socket", PARAM_STRING, &sofw_sip_socket},
	{"loopback_base", PARAM_STRING, &sofw_loopback_base},
	{"keepalive_interval", PARAM_INT, &sofw_keepalive_interval},
	{"auth_window", PARAM_INT, &sofw_auth_window},
	{"phone_idle_timeout", PARAM_INT, &sofw_phone_idle_timeout},
	{"media_address", PARAM_STRING, &sofw_media_address},
	{"rtp_port_min", PARAM_INT, &sofw_rtp_port_min},
	{"rtp_port_max", PARAM_INT, &sofw_rtp_port_max},
	{"media_timeout", PARAM_INT, &sofw_media_timeout},
	{"rat_rows", PARAM_INT, &sofw_rat_rows},
	{"tls_cert", PARAM_STRING, &sofw_tls_cert},
	{"tls_key", PARAM_STRING, &sofw_tls_key},
	{"tls_client_ca", PARAM_STRING, &sofw_tls_client_ca},
	{"status_user", PARAM_STRING, &sofw_status_user},
	{"status_password", PARAM_STRING, &sofw_status_password},
	{"phone_rows", PARAM_INT, &sofw_phone_rows},
	{"site_max_phones", PARAM_INT, &sofw_site_max_phones},
	{"tunnel_max_connections", PARAM_INT, &sofw_tunnel_max_connections},
	{"tunnel_max_connections_per_ip", PARAM_INT,
		&sofw_tunnel_max_connections_per_ip},
	{"tunnel_header_timeout", PARAM_INT, &sofw_tunnel_header_timeout},
	{"tunnel_queue_limit", PARAM_INT, &sofw_tunnel_queue_limit},
	{"replay_cache_size", PARAM_INT, &sofw_replay_cache_size},
	{"status_backoff_size", PARAM_INT, &sofw_status_backoff_size},
	{"rpc_page_rows", PARAM_INT, &sofw_rpc_page_rows},
	{"offer_timeout", PARAM_INT, &sofw_offer_timeout},
	{"max_media_lines", PARAM_INT, &sofw_max_media_lines},
	{"site_max_legs", PARAM_INT, &sofw_site_max_legs},
	{"source_max_legs", PARAM_INT, &sofw_source_max_legs},
	{"tunnel_lanes", PARAM_INT, &sofw_tunnel_lanes},
	{"tunnel_coalesce_ms", PARAM_INT, &sofw_tunnel_coalesce_ms},
	{0, 0, 0}
};

static pv_export_t mod_pvs[] = {
	{{"sofw", sizeof("sofw") - 1}, PVT_OTHER, pv_get_sofw, 0,
		pv_parse_sofw_name, 0, 0, 0},
	{{0, 0}, 0, 0, 0, 0, 0, 0, 0}
};

static const char *sofw_rpc_sites_doc[2] = {
	"List the configured sites with their tunnel state, a page at a time. "
	"Optional parameters: site name (or \"all\"), offset, rows (default "
	"modparam rpc_page_rows). Answers total, offset, next (-1 on the last "
	"page) and rows.",
	0};
static const char *sofw_rpc_stats_doc[2] = {
	"Show the sofw counters.", 0};
static const char *sofw_rpc_rat_doc[2] = {
	"List the Relay Agent Table: one row per media stream of each call leg, "
	"with its media quality each way (loss %, jitter ms, % of packets late "
	"by more than 60 and 150 ms), a page at a time. Optional parameters: "
	"site name (or \"all\"), offset, rows (default modparam rpc_page_rows). "
	"Answers total, offset, next (-1 on the last page) and rows.",
	0};
static const char *sofw_rpc_phones_doc[2] = {
	"List the internal phones that have a loopback endpoint: site, LAN "
	"address, endpoint towards Kamailio, seconds since their last SIP, a "
	"page at a time. Optional parameters: site name (or \"all\"), offset, "
	"rows (default modparam rpc_page_rows). Answers total, offset, next "
	"(-1 on the last page) and rows.",
	0};
static const char *sofw_rpc_kick_doc[2] = {
	"Close a site's tunnel session now; its HRAC reconnects by itself. "
	"Parameter: the site name. Answers \"kicked\", or \"not connected\" "
	"when the site had no session.",
	0};

static rpc_export_t sofw_rpc[] = {
	{"sofw.sites", sofw_rpc_sites, sofw_rpc_sites_doc, 0},
	{"sofw.stats", sofw_rpc_stats, sofw_rpc_stats_doc, 0},
	{"sofw.rat", sofw_rpc_rat, sofw_rpc_rat_doc, 0},
	{"sofw.phones", sofw_rpc_phones, sofw_rpc_phones_doc, 0},
	{"sofw.kick", sofw_rpc_kick, sofw_rpc_kick_doc, 0},
	{0, 0, 0, 0}
};

static counter_val_t sofw_cnt_gauge(counter_handle_t h, void *p);

/* the `sofw` group, from the one list in hras.h */
#define SOFW_CNT_DEF(id, name, description) \
	{&sofw_cnt[HRAS_CNT_##id], name, 0, 0, 0, description},
#define SOFW_GAUGE_DEF(id, name, description) \
	{0, name, 0, sofw_cnt_gauge, (void *)(long)HRAS_GAUGE_##id, description},
static counter_def_t sofw_cnt_defs[] = {
	HRAS_COUNTERS(SOFW_CNT_DEF)
	HRAS_GAUGES(SOFW_GAUGE_DEF)
	{0, 0, 0, 0, 0, 0}
};
#undef SOFW_CNT_DEF
#undef SOFW_GAUGE_DEF

struct module_exports exports = {
	"sofw",
	DEFAULT_DLFLAGS,
	cmds,
	params,
	sofw_rpc,
	mod_pvs,
	0,
	mod_init,
	child_init,
	mod_destroy
};
/* clang-format on */

/* hooks the C++ core reports through */

static void sofw_log_hook(int level, const char *msg)
{
	switch(level) {
		case HRAS_LOG_ERR: LM_ERR("%s\n", msg); break;
		case HRAS_LOG_WARN: LM_WARN("%s\n", msg); break;
		case HRAS_LOG_INFO: LM_INFO("%s\n", msg); break;
		default: LM_DBG("%s\n", msg); break;
	}
}

static void sofw_counter_hook(int counter, unsigned long n)
{
	if(counter >= 0 && counter < HRAS_CNT_COUNT)
		counter_add(sofw_cnt[counter], (int)n);
}

static void sofw_site_state_hook(int site, const struct hras_site_state *st)
{
	if(site < 0 || site >= hras_site_count())
		return;
	lock_get(sofw_states_lock);
	sofw_states[site] = *st;
	lock_release(sofw_states_lock);
}

static void sofw_rat_publish_hook(const struct hras_rat_row *rows, int n,
		int hras_ports, int hrac_ports)
{
	int keep = n < sofw_rat_rows ? n : sofw_rat_rows;
	lock_get(sofw_rat_lock);
	memcpy(sofw_rat, rows, sizeof(struct hras_rat_row) * keep);
	*sofw_rat_n = keep;
	*sofw_rat_total = n;
	sofw_rat_n[2] = hras_ports;
	sofw_rat_n[3] = hrac_ports;
	lock_release(sofw_rat_lock);
}

static void sofw_phones_publish_hook(const struct hras_phone_row *rows, int n)
{
	int keep = n < sofw_phone_rows ? n : sofw_phone_rows;
	lock_get(sofw_phones_lock);
	memcpy(sofw_phones, rows, sizeof(struct hras_phone_row) * keep);
	sofw_phones_n[0] = keep;
	sofw_phones_n[1] = n;
	lock_release(sofw_phones_lock);
}

static struct hras_hooks sofw_hooks = {sofw_log_hook, sofw_counter_hook,
		sofw_site_state_hook, sofw_rat_publish_hook, sofw_phones_publish_hook};

static int sofw_param_site(modparam_t type, void *val)
{
	char err[256];
	if(hras_add_site((const char *)val, err, sizeof(err)) < 0) {
		LM_ERR("%s\n", err);
		return -1;
	}
	return 0;
}

/* The whole file at path (modparam name) as a 0-terminated pkg string in
 * *out; NULL and no error for an unset path. -1 (logged) if unreadable. */
static int sofw_read_file(const char *name, const char *path, char **out)
{
	FILE *f;
	long len;
	size_t got;

	*out = NULL;
	if(!path || !*path)
		return 0;
	f = fopen(path, "rb");
	if(!f) {
		LM_ERR("%s: cannot open %s: %s\n", name, path, strerror(errno));
		return -1;
	}
	if(fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0
			|| fseek(f, 0, SEEK_SET) != 0) {
		LM_ERR("%s: cannot read %s: %s\n", name, path, strerror(errno));
		fclose(f);
		return -1;
	}
	if(len == 0 || len > 1024 * 1024) {
		LM_ERR("%s: %s is %s\n", name, path, len ? "too large" : "empty");
		fclose(f);
		return -1;
	}
	*out = pkg_malloc(len + 1);
	if(!*out) {
		PKG_MEM_ERROR;
		fclose(f);
		return -1;
	}
	got = fread(*out, 1, len, f);
	fclose(f);
	if(got != (size_t)len) {
		LM_ERR("%s: cannot read %s\n", name, path);
		pkg_free(*out);
		*out = NULL;
		return -1;
	}
	(*out)[len] = 0;
	return 0;
}

static int mod_init(void)
{
	struct hras_config cfg;
	char err[256];
	char host[64];
	char *colon;
	str host_str;
	int port, rc;
	char *tls_cert = NULL, *tls_key = NULL, *tls_client_ca = NULL;

	memset(&cfg, 0, sizeof(cfg));
	cfg.tunnel_listen = sofw_tunnel_listen;
	cfg.sip_socket = sofw_sip_socket;
	cfg.loopback_base = sofw_loopback_base;
	cfg.keepalive_interval = sofw_keepalive_interval;
	cfg.auth_window = sofw_auth_window;
	cfg.phone_idle_timeout = sofw_phone_idle_timeout;
	cfg.media_address = sofw_media_address;
	cfg.rtp_port_min = sofw_rtp_port_min;
	cfg.rtp_port_max = sofw_rtp_port_max;
	cfg.media_timeout = sofw_media_timeout;
	cfg.offer_timeout = sofw_offer_timeout;
	cfg.max_media_lines = sofw_max_media_lines;
	cfg.site_max_legs = sofw_site_max_legs;
	cfg.source_max_legs = sofw_source_max_legs;
	cfg.status_user = sofw_status_user;
	cfg.status_password = sofw_status_password;
	cfg.site_max_phones = sofw_site_max_phones;
	cfg.tunnel_max_connections = sofw_tunnel_max_connections;
	cfg.tunnel_max_connections_per_ip = sofw_tunnel_max_connections_per_ip;
	cfg.tunnel_header_timeout = sofw_tunnel_header_timeout;
	cfg.tunnel_queue_limit = sofw_tunnel_queue_limit;
	cfg.replay_cache_size = sofw_replay_cache_size;
	cfg.status_backoff_size = sofw_status_backoff_size;
	cfg.tunnel_lanes = sofw_tunnel_lanes;
	cfg.tunnel_coalesce_ms = sofw_tunnel_coalesce_ms;
	if(sofw_site_max_phones <= 0 || sofw_tunnel_max_connections <= 0
			|| sofw_tunnel_max_connections_per_ip <= 0
			|| sofw_tunnel_header_timeout <= 0 || sofw_tunnel_queue_limit <= 0
			|| sofw_replay_cache_size <= 0 || sofw_status_backoff_size <= 0) {
		LM_ERR("site_max_phones, tunnel_max_connections, "
			   "tunnel_max_connections_per_ip, tunnel_header_timeout, "
			   "tunnel_queue_limit, replay_cache_size and status_backoff_size "
			   "must be positive\n");
		return -1;
	}
	if(sofw_rpc_page_rows < 1 || sofw_rpc_page_rows > 10000) {
		LM_ERR("rpc_page_rows must be 1..10000\n");
		return -1;
	}
	if(sofw_tunnel_lanes < 1 || sofw_tunnel_lanes > 8) {
		LM_ERR("tunnel_lanes must be 1..8 (connections per direction of a "
			   "streaming session), not %d\n",
				sofw_tunnel_lanes);
		return -1;
	}
	if(sofw_tunnel_coalesce_ms < 0
			|| sofw_tunnel_coalesce_ms > SOFW_COALESCE_MAX_MS) {
		LM_ERR("tunnel_coalesce_ms must be 0..%d (milliseconds media may "
			   "wait to share a write), not %d\n",
				SOFW_COALESCE_MAX_MS, sofw_tunnel_coalesce_ms);
		return -1;
	}
	if((*sofw_tls_cert != 0) != (*sofw_tls_key != 0)) {
		LM_ERR("tls_cert and tls_key must be set together\n");
		return -1;
	}
	if(*sofw_tls_client_ca && !*sofw_tls_cert) {
		LM_ERR("tls_client_ca needs tls_cert and tls_key\n");
		return -1;
	}
	if(sofw_read_file("tls_cert", sofw_tls_cert, &tls_cert) < 0
			|| sofw_read_file("tls_key", sofw_tls_key, &tls_key) < 0
			|| sofw_read_file("tls_client_ca", sofw_tls_client_ca,
					   &tls_client_ca)
					   < 0) {
		rc = -1;
		err[0] = 0;
	} else {
		cfg.tls_cert = tls_cert;
		cfg.tls_key = tls_key;
		cfg.tls_client_ca = tls_client_ca;
		rc = hras_configure(&cfg, err, sizeof(err));
	}
	/* the core keeps its own copies */
	if(tls_cert)
		pkg_free(tls_cert);
	if(tls_key) {
		memset(tls_key, 0, strlen(tls_key));
		pkg_free(tls_key);
	}
	if(tls_client_ca)
		pkg_free(tls_client_ca);
	if(rc < 0) {
		if(err[0])
			LM_ERR("%s\n", err);
		return -1;
	}
	if(*sofw_tls_cert)
		LM_INFO("tunnel over https: certificate %s%s%s\n", sofw_tls_cert,
				*sofw_tls_client_ca ? ", client certificates signed by "
									: "",
				sofw_tls_client_ca);
	if(hras_site_count() == 0)
		LM_WARN("no site configured (modparam \"site\"): every tunnel will "
				"be refused\n");

	/* the Kamailio socket that tunnel traffic uses */
	colon = strrchr(sofw_sip_socket, ':');
	if(!colon || colon - sofw_sip_socket >= (int)sizeof(host)) {
		LM_ERR("sip_socket '%s' is not address:port\n", sofw_sip_socket);
		return -1;
	}
	memcpy(host, sofw_sip_socket, colon - sofw_sip_socket);
	host[colon - sofw_sip_socket] = 0;
	port = atoi(colon + 1);
	host_str.s = host;
	host_str.len = strlen(host);
	sofw_sock = grep_sock_info(&host_str, (unsigned short)port, PROTO_UDP);
	if(!sofw_sock) {
		LM_ERR("sip_socket %s is not a UDP listen socket of this Kamailio; "
			   "add 'listen=udp:%s' to kamailio.cfg\n",
				sofw_sip_socket, sofw_sip_socket);
		return -1;
	}

	sofw_states = shm_malloc(sizeof(struct hras_site_state)
							 * (hras_site_count() ? hras_site_count() : 1));
	sofw_states_lock = lock_alloc();
	if(!sofw_states || !sofw_states_lock || !lock_init(sofw_states_lock)) {
		SHM_MEM_ERROR;
		return -1;
	}
	memset(sofw_states, 0,
			sizeof(struct hras_site_state) * (hras_site_count() ? hras_site_count() : 1));

	if(sofw_rat_rows < 1)
		sofw_rat_rows = 1;
	sofw_rat = shm_malloc(sizeof(struct hras_rat_row) * sofw_rat_rows);
	sofw_rat_n = shm_malloc(sizeof(int) * 4); /* rows, total, ports */
	sofw_rat_lock = lock_alloc();
	if(!sofw_rat || !sofw_rat_n || !sofw_rat_lock || !lock_init(sofw_rat_lock)) {
		SHM_MEM_ERROR;
		return -1;
	}
	sofw_rat_total = sofw_rat_n + 1;
	memset(sofw_rat_n, 0, sizeof(int) * 4);

	if(sofw_phone_rows < 1)
		sofw_phone_rows = 1;
	sofw_phones = shm_malloc(sizeof(struct hras_phone_row) * sofw_phone_rows);
	sofw_phones_n = shm_malloc(sizeof(int) * 2);
	sofw_phones_lock = lock_alloc();
	if(!sofw_phones || !sofw_phones_n || !sofw_phones_lock
			|| !lock_init(sofw_phones_lock)) {
		SHM_MEM_ERROR;
		return -1;
	}
	memset(sofw_phones_n, 0, sizeof(int) * 2);

	sofw_kicks = shm_malloc(sizeof(struct sofw_kick)
							* (hras_site_count() ? hras_site_count() : 1));
	sofw_kicks_lock = lock_alloc();
	if(!sofw_kicks || !sofw_kicks_lock || !lock_init(sofw_kicks_lock)) {
		SHM_MEM_ERROR;
		return -1;
	}
	memset(sofw_kicks, 0,
			sizeof(struct sofw_kick) * (hras_site_count() ? hras_site_count() : 1));

	if(counter_register_array("sofw", sofw_cnt_defs) < 0) {
		LM_ERR("cannot register the sofw counters\n");
		return -1;
	}
	hras_set_hooks(&sofw_hooks);

	/* the relay process: tunnel server, loopback endpoints */
	register_procs(1);
	cfg_register_child(1);
	return 0;
}

/* In the relay process: close the sessions sofw.kick asked for. */
static void sofw_serve_kicks(void)
{
	int i, result;
	unsigned int req;

	for(i = 0; i < hras_site_count(); i++) {
		lock_get(sofw_kicks_lock);
		req = sofw_kicks[i].requested;
		result = req != sofw_kicks[i].done;
		lock_release(sofw_kicks_lock);
		if(!result)
			continue;
		result = hras_kick(i);
		lock_get(sofw_kicks_lock);
		sofw_kicks[i].done = req;
		sofw_kicks[i].result = result;
		lock_release(sofw_kicks_lock);
	}
}

static void sofw_relay_process(void)
{
	char err[256];

	if(cfg_child_init() != 0) {
		LM_CRIT("sofw: cannot init cfg in the relay process\n");
		exit(-1);
	}
	if(hras_start(err, sizeof(err)) < 0) {
		/* exiting makes Kamailio shut down: a HRAS without its tunnel
		 * server must not pretend to run */
		LM_CRIT("sofw: %s\n", err);
		exit(-1);
	}
	for(;;) {
		cfg_update();
		/* returns at least every 500 ms (the core's timers) */
		hras_poll(1000);
		sofw_serve_kicks();
	}
}

static int child_init(int rank)
{
	int pid;

	if(rank != PROC_MAIN)
		return 0;
	pid = fork_process(PROC_NOCHLDINIT, "sofw relay (HRAS tunnel)", 1);
	if(pid < 0) {
		LM_ERR("cannot fork the sofw relay process\n");
		return -1;
	}
	if(pid == 0)
		sofw_relay_process(); /* never returns */
	return 0;
}

static void mod_destroy(void)
{
	if(sofw_kicks_lock) {
		lock_destroy(sofw_kicks_lock);
		lock_dealloc(sofw_kicks_lock);
		sofw_kicks_lock = NULL;
	}
	if(sofw_kicks) {
		shm_free(sofw_kicks);
		sofw_kicks = NULL;
	}
	if(sofw_phones_lock) {
		lock_destroy(sofw_phones_lock);
		lock_dealloc(sofw_phones_lock);
		sofw_phones_lock = NULL;
	}
	if(sofw_phones) {
		shm_free(sofw_phones);
		sofw_phones = NULL;
	}
	if(sofw_phones_n) {
		shm_free(sofw_phones_n);
		sofw_phones_n = NULL;
	}
	if(sofw_rat_lock) {
		lock_destroy(sofw_rat_lock);
		lock_dealloc(sofw_rat_lock);
		sofw_rat_lock = NULL;
	}
	if(sofw_rat) {
		shm_free(sofw_rat);
		sofw_rat = NULL;
	}
	if(sofw_rat_n) {
		shm_free(sofw_rat_n);
		sofw_rat_n = sofw_rat_total = NULL;
	}
	if(sofw_states_lock) {
		lock_destroy(sofw_states_lock);
		lock_dealloc(sofw_states_lock);
		sofw_states_lock = NULL;
	}
	if(sofw_states) {
		shm_free(sofw_states);
		sofw_states = NULL;
	}
}

/* index of the site the message came from (its source is a site's
 * loopback address), or -1 */
static int sofw_site_of_source(sip_msg_t *msg)
{
	char ip[IP_ADDR_MAX_STR_SIZE];
	int len = ip_addr2sbuf(&msg->rcv.src_ip, ip, sizeof(ip));
	return len > 0 ? hras_site_by_addr(ip, len) : -1;
}

static int ki_sofw_is_from_site(sip_msg_t *msg)
{
	return sofw_site_of_source(msg) >= 0 ? 1 : -1;
}

static int w_sofw_is_from_site(sip_msg_t *msg, char *p1, char *p2)
{
	return ki_sofw_is_from_site(msg);
}

/* The message came from a site (its loopback address) and domain is one of
 * that site's SIP domains: a site's phones act only in their own domain. */
static int ki_sofw_is_site_domain(sip_msg_t *msg, str *domain)
{
	int site = sofw_site_of_source(msg);
	if(site < 0 || !domain || !domain->s || domain->len <= 0)
		return -1;
	return hras_site_has_domain(site, domain->s, domain->len) ? 1 : -1;
}

/* domain is the SIP domain of some site: its users live behind a tunnel,
 * so nothing from the Internet may register or act as them. */
static int ki_sofw_is_internal_domain(sip_msg_t *msg, str *domain)
{
	if(!domain || !domain->s || domain->len <= 0)
		return -1;
	return hras_site_by_domain(domain->s, domain->len) >= 0 ? 1 : -1;
}

static int w_sofw_is_site_domain(sip_msg_t *msg, char *p1, char *p2)
{
	str d;
	if(fixup_get_svalue(msg, (gparam_t *)p1, &d) < 0) {
		LM_ERR("cannot get the domain parameter\n");
		return -1;
	}
	return ki_sofw_is_site_domain(msg, &d);
}

static int w_sofw_is_internal_domain(sip_msg_t *msg, char *p1, char *p2)
{
	str d;
	if(fixup_get_svalue(msg, (gparam_t *)p1, &d) < 0) {
		LM_ERR("cannot get the domain parameter\n");
		return -1;
	}
	return ki_sofw_is_internal_domain(msg, &d);
}

/* Whether this message already got its X-SoFW-Source (sofw_relay() runs
 * in the request route and again in the branch route). */
static int sofw_source_noted(sip_msg_t *msg)
{
	struct lump *l, *a;
	const int n = sizeof(HRAS_SOURCE_HEADER) - 1;

	for(l = msg->add_rm; l; l = l->next)
		for(a = l->before; a; a = a->before)
			if(a->op == LUMP_ADD && a->len > n
					&& strncmp(a->u.value, HRAS_SOURCE_HEADER ":", n + 1) == 0)
				return 1;
	return 0;
}

/* Tells the relay process where this message came from: X-SoFW-Source with
 * the source IP Kamailio received it from (the far side's SIP address, or
 * its NAT's: what a public media port may latch besides the SDP's c=).
 * Whatever X-SoFW-Source the message brought is removed first; the relay
 * removes ours before the message goes down the tunnel. */
static int sofw_note_source(sip_msg_t *msg)
{
	struct hdr_field *hf;
	struct lump *anchor;
	char ip[IP_ADDR_MAX_STR_SIZE];
	char *hdr;
	int len, n;
	const int name_len = sizeof(HRAS_SOURCE_HEADER) - 1;

	if(parse_headers(msg, HDR_EOH_F, 0) < 0)
		return -1;
	if(sofw_source_noted(msg))
		return 1;
	for(hf = msg->headers; hf; hf = hf->next) {
		if(hf->name.len == name_len
				&& strncasecmp(hf->name.s, HRAS_SOURCE_HEADER, name_len) == 0
				&& del_lump(msg, hf->name.s - msg->buf, hf->len, 0) == 0) {
			LM_ERR("cannot remove a %s header\n", HRAS_SOURCE_HEADER);
			return -1;
		}
	}
	if(msg->rcv.src_ip.af != AF_INET)
		return 1; /* the relay takes IPv4 only; the SDP's c= still counts */
	len = ip_addr2sbuf(&msg->rcv.src_ip, ip, sizeof(ip));
	if(len <= 0)
		return 1;
	n = name_len + 2 + len + 2;
	hdr = pkg_malloc(n + 1);
	if(!hdr) {
		PKG_MEM_ERROR;
		return -1;
	}
	snprintf(hdr, n + 1, "%s: %.*s\r\n", HRAS_SOURCE_HEADER, len, ip);
	anchor = anchor_lump(msg, msg->unparsed - msg->buf, 0, 0);
	if(!anchor || !insert_new_lump_before(anchor, hdr, n, 0)) {
		LM_ERR("cannot add the %s header\n", HRAS_SOURCE_HEADER);
		pkg_free(hdr);
		return -1;
	}
	return 1;
}

/* Whether this reply goes to an internal phone: the Via below ours names a
 * site's loopback endpoint (received=, or the host itself). */
static int sofw_reply_to_site(sip_msg_t *msg)
{
	str host;

	if(parse_headers(msg, HDR_VIA2_F, 0) < 0 || !msg->via2)
		return 0;
	host = msg->via2->received ? msg->via2->received->value : msg->via2->host;
	return host.s && host.len > 0 && hras_site_by_addr(host.s, host.len) >= 0;
}

/* Requests: if the next hop ($du, else R-URI) is an internal phone (a
 * site's loopback address), send it from sip_socket: that is the address the
 * tunnel boundary translates into the site's HRAC address. Replies (in an
 * onreply or reply route): if the reply goes to an internal phone. Either
 * way the message gets X-SoFW-Source for the media relay. */
static int ki_sofw_relay(sip_msg_t *msg)
{
	str uri;
	sip_uri_t puri;

	if(msg->first_line.type == SIP_REPLY) {
		if(!sofw_reply_to_site(msg))
			return -1;
		return sofw_note_source(msg);
	}
	if(msg->first_line.type != SIP_REQUEST)
		return -1;
	if(msg->dst_uri.s && msg->dst_uri.len > 0)
		uri = msg->dst_uri;
	else if(msg->new_uri.s && msg->new_uri.len > 0)
		uri = msg->new_uri;
	else
		uri = msg->first_line.u.request.uri;
	if(parse_uri(uri.s, uri.len, &puri) < 0) {
		LM_ERR("cannot parse next hop URI [%.*s]\n", uri.len, uri.s);
		return -1;
	}
	if(hras_site_by_addr(puri.host.s, puri.host.len) < 0)
		return -1;
	set_force_socket(msg, sofw_sock);
	if(sofw_note_source(msg) < 0)
		LM_WARN("no %s for this request: its media latches to its SDP only\n",
				HRAS_SOURCE_HEADER);
	return 1;
}

static int w_sofw_relay(sip_msg_t *msg, char *p1, char *p2)
{
	return ki_sofw_relay(msg);
}

/* $sofw(site), $sofw(domain): of the site a message came from */
static int pv_parse_sofw_name(pv_spec_p sp, str *in)
{
	if(in->len == 4 && strncmp(in->s, "site", 4) == 0)
		sp->pvp.pvn.u.isname.name.n = 0;
	else if(in->len == 6 && strncmp(in->s, "domain", 6) == 0)
		sp->pvp.pvn.u.isname.name.n = 1;
	else {
		LM_ERR("unknown $sofw(%.*s): use site or domain\n", in->len, in->s);
		return -1;
	}
	sp->pvp.pvn.type = PV_NAME_INTSTR;
	sp->pvp.pvn.u.isname.type = 0;
	return 0;
}

static int pv_get_sofw(sip_msg_t *msg, pv_param_t *param, pv_value_t *res)
{
	int site = sofw_site_of_source(msg);
	const char *v;
	str s;

	if(site < 0)
		return pv_get_null(msg, param, res);
	v = param->pvn.u.isname.name.n == 0 ? hras_site_name(site)
										: hras_site_domain(site);
	if(!v || !*v)
		return pv_get_null(msg, param, res);
	s.s = (char *)v;
	s.len = strlen(v);
	return pv_get_strval(msg, param, res, &s);
}

/* gauges, derived by the core from the published site states or RAT */

static counter_val_t sofw_cnt_gauge(counter_handle_t h, void *p)
{
	unsigned long g[HRAS_GAUGE_COUNT] = {0};
	long gauge = (long)p;

	if(gauge == HRAS_GAUGE_ACTIVE_SITES || gauge == HRAS_GAUGE_PHONES) {
		lock_get(sofw_states_lock);
		hras_site_gauges(sofw_states, hras_site_count(), g);
		lock_release(sofw_states_lock);
	} else {
		lock_get(sofw_rat_lock);
		hras_rat_gauges(sofw_rat, sofw_rat_n[0], sofw_rat_n[2], sofw_rat_n[3], g);
		lock_release(sofw_rat_lock);
	}
	return gauge >= 0 && gauge < HRAS_GAUGE_COUNT ? g[gauge] : 0;
}

/* RPC */

/* The page a list RPC answers: [site|"all" [offset [rows]]]. A whole
 * table in one reply overflows ctl's reply buffer ("reply too big" from
 * about 150 RAT rows on), so lists come in pages of rpc_page_rows. */
struct sofw_page {
	int site; /* -1: every site */
	int offset;
	int rows;
};

/* 0, or -1 after answering a fault */
static int sofw_page_args(rpc_t *rpc, void *ctx, struct sofw_page *pg)
{
	char *name = NULL;
	int n;

	pg->site = -1;
	pg->offset = 0;
	pg->rows = sofw_rpc_page_rows;
	if(rpc->scan(ctx, "*s", &name) < 1 || !name)
		return 0;
	pg->site = hras_site_by_name(name);
	if(pg->site < 0 && strcmp(name, "all") != 0) {
		rpc->fault(ctx, 404, "Unknown site");
		return -1;
	}
	if(rpc->scan(ctx, "*d", &n) == 1) {
		if(n < 0) {
			rpc->fault(ctx, 400, "Offset must be 0 or more");
			return -1;
		}
		pg->offset = n;
		if(rpc->scan(ctx, "*d", &n) == 1) {
			if(n < 1 || n > 10000) {
				rpc->fault(ctx, 400, "Rows must be 1..10000");
				return -1;
			}
			pg->rows = n;
		}
	}
	return 0;
}

/* A page also ends before this much text, so that it fits ctl's reply
 * buffer (binrpc_max_body_size, 32 KB by default) whatever its rows hold:
 * a RAT row with long Call-ID, From and To takes 600 bytes. */
#define SOFW_PAGE_BYTES (24 * 1024)
/* what a field costs beside its text: its name and binrpc's framing */
#define SOFW_FIELD_BYTES 16
/* a quality figure of a RAT row: a name of up to 12 and a double */
#define SOFW_QUALITY_FIELD_BYTES 24

/* Whether one more row of row_bytes still goes into a page that holds
 * shown rows of *bytes so far (the first row always does). */
static int sofw_page_takes(const struct sofw_page *pg, int shown, int *bytes,
		int row_bytes)
{
	if(shown >= pg->rows || (shown > 0 && *bytes + row_bytes > SOFW_PAGE_BYTES))
		return 0;
	*bytes += row_bytes;
	return 1;
}

/* The page's head; *rows gets the array the page's rows go into. total:
 * rows of the chosen site(s); next: the offset of the next page, -1 if
 * this is the last. */
static int sofw_page_head(rpc_t *rpc, void *ctx, const struct sofw_page *pg,
		int total, int shown, void **rows)
{
	void *th;
	int next = pg->offset + shown < total ? pg->offset + shown : -1;

	if(rpc->add(ctx, "{", &th) < 0)
		return -1;
	if(rpc->struct_add(th, "ddd[", "total", total, "offset", pg->offset,
			   "next", next, "rows", rows)
			< 0)
		return -1;
	return 0;
}

/* What a list RPC needs to know of one row of its copied-out table. */
struct sofw_row_kind {
	int (*site)(const void *rows, int i);
	int (*bytes)(const void *rows, int i); /* its text, for the page limit */
	void (*add)(rpc_t *rpc, void *th, const void *rows, int i);
};

/* Answers the page pg of the n rows (those of pg->site, or all). */
static void sofw_answer_page(rpc_t *rpc, void *ctx, const struct sofw_page *pg,
		const void *rows, int n, const struct sofw_row_kind *kind)
{
	int i, matching, shown, bytes;
	void *rh, *th;

	for(matching = 0, shown = 0, bytes = 0, i = 0; i < n; i++) {
		if(pg->site >= 0 && kind->site(rows, i) != pg->site)
			continue;
		if(matching++ >= pg->offset
				&& sofw_page_takes(pg, shown, &bytes, kind->bytes(rows, i)))
			shown++;
	}
	if(sofw_page_head(rpc, ctx, pg, matching, shown, &rh) < 0) {
		rpc->fault(ctx, 500, "Internal error");
		return;
	}
	for(matching = 0, i = 0; i < n && shown > 0; i++) {
		if(pg->site >= 0 && kind->site(rows, i) != pg->site)
			continue;
		if(matching++ < pg->offset)
			continue;
		if(rpc->array_add(rh, "{", &th) < 0)
			return;
		shown--;
		kind->add(rpc, th, rows, i);
	}
}

static int sofw_rat_row_site(const void *rows, int i)
{
	return ((const struct hras_rat_row *)rows)[i].site;
}

static int sofw_rat_row_bytes(const void *rows, int i)
{
	const struct hras_rat_row *r = (const struct hras_rat_row *)rows + i;
	return (int)(strlen(hras_site_name(r->site)) + strlen(r->call_id)
				 + strlen(r->from) + strlen(r->to) + strlen(r->media)
				 + strlen(r->internal) + strlen(r->external))
		   + 16 * SOFW_FIELD_BYTES
		   + 8 * SOFW_QUALITY_FIELD_BYTES;
}

static void sofw_rat_row_add(rpc_t *rpc, void *th, const void *rows, int i)
{
	const struct hras_rat_row *r = (const struct hras_rat_row *)rows + i;
	rpc->struct_add(th, "sssssdssdddddddd", "site", hras_site_name(r->site),
			"call_id", r->call_id, "from", r->from, "to", r->to, "media",
			r->media, "stream", r->stream, "internal", r->internal, "external",
			r->external, "hras_port", r->hras_port, "hrac_port", r->hrac_port,
			"bypass", r->bypass, "latched", r->latched, "packets_up",
			(int)r->packets_up, "packets_down", (int)r->packets_down, "age",
			(int)r->age, "idle", (int)r->idle);
	/* media quality, each way (percent, ms) */
	rpc->struct_add(th, "ffffffff", "loss_up", r->loss_up, "loss_down",
			r->loss_down, "jitter_up", r->jitter_up, "jitter_down",
			r->jitter_down, "late60_up", r->late60_up, "late60_down",
			r->late60_down, "late150_up", r->late150_up, "late150_down",
			r->late150_down);
}

static const struct sofw_row_kind sofw_rat_row_kind = {
		sofw_rat_row_site, sofw_rat_row_bytes, sofw_rat_row_add};

static void sofw_rpc_rat(rpc_t *rpc, void *ctx)
{
	int n, total;
	struct hras_rat_row *rows;
	struct sofw_page pg;

	if(sofw_page_args(rpc, ctx, &pg) < 0)
		return;
	/* copy out under the lock, answer without it */
	lock_get(sofw_rat_lock);
	n = *sofw_rat_n;
	total = *sofw_rat_total;
	rows = n ? pkg_malloc(sizeof(*rows) * n) : NULL;
	if(rows)
		memcpy(rows, sofw_rat, sizeof(*rows) * n);
	lock_release(sofw_rat_lock);
	if(n && !rows) {
		rpc->fault(ctx, 500, "Out of memory");
		return;
	}
	if(total > n)
		LM_WARN("sofw.rat: %d of %d rows kept (modparam rat_rows)\n", n, total);
	sofw_answer_page(rpc, ctx, &pg, rows, n, &sofw_rat_row_kind);
	if(rows)
		pkg_free(rows);
}

static int sofw_phone_row_site(const void *rows, int i)
{
	return ((const struct hras_phone_row *)rows)[i].site;
}

static int sofw_phone_row_bytes(const void *rows, int i)
{
	const struct hras_phone_row *r = (const struct hras_phone_row *)rows + i;
	return (int)(strlen(hras_site_name(r->site)) + strlen(r->lan)
				 + strlen(r->endpoint))
		   + 4 * SOFW_FIELD_BYTES;
}

static void sofw_phone_row_add(rpc_t *rpc, void *th, const void *rows, int i)
{
	const struct hras_phone_row *r = (const struct hras_phone_row *)rows + i;
	rpc->struct_add(th, "sssd", "site", hras_site_name(r->site), "lan", r->lan,
			"endpoint", r->endpoint, "idle", (int)r->idle);
}

static const struct sofw_row_kind sofw_phone_row_kind = {
		sofw_phone_row_site, sofw_phone_row_bytes, sofw_phone_row_add};

static void sofw_rpc_phones(rpc_t *rpc, void *ctx)
{
	int n, total;
	struct hras_phone_row *rows;
	struct sofw_page pg;

	if(sofw_page_args(rpc, ctx, &pg) < 0)
		return;
	/* copy out under the lock, answer without it */
	lock_get(sofw_phones_lock);
	n = sofw_phones_n[0];
	total = sofw_phones_n[1];
	rows = n ? pkg_malloc(sizeof(*rows) * n) : NULL;
	if(rows)
		memcpy(rows, sofw_phones, sizeof(*rows) * n);
	lock_release(sofw_phones_lock);
	if(n && !rows) {
		rpc->fault(ctx, 500, "Out of memory");
		return;
	}
	if(total > n)
		LM_WARN("sofw.phones: %d of %d phones kept (modparam phone_rows)\n", n,
				total);
	sofw_answer_page(rpc, ctx, &pg, rows, n, &sofw_phone_row_kind);
	if(rows)
		pkg_free(rows);
}

static void sofw_rpc_kick(rpc_t *rpc, void *ctx)
{
	char *name = NULL;
	int site, waited, result = 0, served = 0;
	unsigned int seq;

	if(rpc->scan(ctx, "s", &name) < 1 || !name) {
		rpc->fault(ctx, 400, "Site name expected");
		return;
	}
	site = hras_site_by_name(name);
	if(site < 0) {
		rpc->fault(ctx, 404, "Unknown site");
		return;
	}
	lock_get(sofw_kicks_lock);
	seq = ++sofw_kicks[site].requested;
	lock_release(sofw_kicks_lock);
	for(waited = 0; waited <= 3000 && !served; waited += 10) {
		lock_get(sofw_kicks_lock);
		served = (int)(sofw_kicks[site].done - seq) >= 0;
		result = sofw_kicks[site].result;
		lock_release(sofw_kicks_lock);
		if(!served)
			sleep_us(10000);
	}
	if(!served) {
		rpc->fault(ctx, 500, "The sofw relay process did not answer");
		return;
	}
	if(result < 0) {
		rpc->fault(ctx, 500, "The sofw relay process is not running");
		return;
	}
	LM_INFO("sofw.kick: site '%s' %s\n", name,
			result ? "kicked" : "had no session to close");
	rpc->add(ctx, "s", result ? "kicked" : "not connected");
}

/* Sites are configured, not published: their names come from the
 * configuration, their states from shared memory. */
static int sofw_site_bytes(int i, const struct hras_site_state *st)
{
	return (int)(strlen(hras_site_name(i)) + strlen(hras_site_domain(i))
				 + strlen(hras_site_addr(i)) + strlen(st->mode)
				 + strlen(st->session) + strlen(st->hrac_lan) + strlen(st->peer))
		   + 11 * SOFW_FIELD_BYTES;
}

static void sofw_rpc_sites(rpc_t *rpc, void *ctx)
{
	int i, first, last, shown, bytes, total;
	void *rh, *th;
	struct hras_site_state st;
	struct sofw_page pg;

	if(sofw_page_args(rpc, ctx, &pg) < 0)
		return;
	/* the chosen sites are [first, last) */
	first = pg.site >= 0 ? pg.site : 0;
	last = pg.site >= 0 ? pg.site + 1 : hras_site_count();
	total = last - first;
	for(shown = 0, bytes = 0, i = first + pg.offset; i < last; i++) {
		lock_get(sofw_states_lock);
		st = sofw_states[i];
		lock_release(sofw_states_lock);
		if(!sofw_page_takes(&pg, shown, &bytes, sofw_site_bytes(i, &st)))
			break;
		shown++;
	}
	if(sofw_page_head(rpc, ctx, &pg, total, shown, &rh) < 0) {
		rpc->fault(ctx, 500, "Internal error");
		return;
	}
	for(i = first + pg.offset; shown > 0; i++, shown--) {
		lock_get(sofw_states_lock);
		st = sofw_states[i];
		lock_release(sofw_states_lock);
		if(rpc->array_add(rh, "{", &th) < 0)
			return;
		rpc->struct_add(th, "ssssssssddd", "name", hras_site_name(i), "domain",
				hras_site_domain(i), "addr", hras_site_addr(i), "state",
				st.up ? "up" : "down", "mode", st.mode, "session", st.session, "hrac",
				st.hrac_lan, "peer", st.peer, "since",
				(int)st.since, "phones", (int)st.phones, "lanes", st.lanes);
	}
}

static void sofw_rpc_stats(rpc_t *rpc, void *ctx)
{
	void *th;
	int i;
	str grp = str_init("sofw");
	str name;
	counter_handle_t h;

	if(rpc->add(ctx, "{", &th) < 0) {
		rpc->fault(ctx, 500, "Internal error");
		return;
	}
	for(i = 0; sofw_cnt_defs[i].name; i++) {
		name.s = (char *)sofw_cnt_defs[i].name;
		name.len = strlen(name.s);
		if(counter_lookup_str(&h, &grp, &name) < 0)
			continue;
		rpc->struct_add(th, "d", sofw_cnt_defs[i].name, (int)counter_get_val(h));
	}
}

/* KEMI */

/* clang-format off */
static sr_kemi_t sr_kemi_sofw_exports[] = {
	{ str_init("sofw"), str_init("sofw_relay"),
		SR_KEMIP_INT, ki_sofw_relay,
		{ SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("sofw"), str_init("sofw_is_from_site"),
		SR_KEMIP_INT, ki_sofw_is_from_site,
		{ SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("sofw"), str_init("sofw_is_site_domain"),
		SR_KEMIP_INT, ki_sofw_is_site_domain,
		{ SR_KEMIP_STR, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("sofw"), str_init("sofw_is_internal_domain"),
		SR_KEMIP_INT, ki_sofw_is_internal_domain,
		{ SR_KEMIP_STR, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ {0, 0}, {0, 0}, 0, NULL, { 0, 0, 0, 0, 0, 0 } }
};
/* clang-format on */

int mod_register(char *path, int *dlflags, void *p1, void *p2)
{
	sr_kemi_modules_add(sr_kemi_sofw_exports);
	return 0;
}
