#pragma once

#include <string>

#include "skiff/common/result.h"
#include "skiff/master/client/api_client.h"

namespace skiff::master {

// Creates or reconciles kube-system/extension-apiserver-authentication, as kube-apiserver's
// cluster-authentication-trust controller publishes it: how an aggregated API server
// (metrics-server, the conformance sample-apiserver) authenticates what skiff-master relays to
// it. `client-ca-file`: client certificates of this cluster; `requestheader-*`: the
// X-Remote-User/-Group/-Extra- headers, believed only on a connection that presents a
// certificate from `front_proxy_ca_pem` named front-proxy-client (the aggregator's). Idempotent.
Result<void> ensureAuthenticationInfo(ApiClient& client, const std::string& client_ca_pem,
                                      const std::string& front_proxy_ca_pem);

}  // namespace skiff::master
