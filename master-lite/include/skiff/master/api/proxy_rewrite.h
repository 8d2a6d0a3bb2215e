#pragma once

// What kube-apiserver's proxy transport (k8s.io/apimachinery/pkg/util/proxy, transport.go) does
// to a backend's answer for pods|services|nodes/<id>/proxy: a redirect to the backend itself,
// and links in an HTML page, are rewritten to go through the API path again.

#include <string>

namespace skiff::master::api {

struct ProxyRewrite {
  std::string path_prepend;  // the API path up to .../proxy
  std::string backend_host;  // host:port the request went to
  std::string request_host;  // the client's Host header
};

// Go's path.Clean of an absolute path: "." and ".." resolved, slashes collapsed, no trailing
// slash; "/" when nothing is left.
std::string cleanUrlPath(const std::string& path);

// One URL (a Location header, an href): a relative-path URL on the backend (or on the host the
// client asked) is moved under path_prepend; other hosts and relative references stay.
std::string rewriteProxyUrl(const std::string& url, const ProxyRewrite& rw);

// An HTML page with the URL-valued attributes of upstream's table (a href, img src, form
// action, ...) rewritten by rewriteProxyUrl; the rest of the document as it was.
std::string rewriteProxyHtml(const std::string& html, const ProxyRewrite& rw);

}  // namespace skiff::master::api
