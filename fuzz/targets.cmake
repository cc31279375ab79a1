# Every fuzz target, <name> = fuzz/<name>_fuzz.cpp with its seeds in
# fuzz/corpus/<name>/ and, if there is one, its dictionary fuzz/dict/<name>.dict.
# Read by fuzz/CMakeLists.txt and fuzz/ci.cmake.
set(SOFW_FUZZ_TARGETS
  frame
  ra_header
  control
  auth
  host_port
  sip_message
  sip_translate
  sdp
  status_page
  hrac_config
  hrac_proxy
  hrac_sip_peek
  hrac_sdp_scan
  hrac_lan_policy
  hras_relay
  rtp_quality
  record
  turn
  lanes
  tunnel_http)
