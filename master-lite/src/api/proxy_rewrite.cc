// The proxy transport's rewriting (k8s.io/apimachinery/pkg/util/proxy/transport.go): Location
// headers and the URL-valued attributes of HTML pages, moved under the API proxy path, so that a
// page served at /api/v1/namespaces/ns/services/web/proxy/ links to .../proxy/style.css, not to
// /style.css on the API server.
#include "skiff/master/api/proxy_rewrite.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <vector>

namespace skiff::master::api {

std::string cleanUrlPath(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t i = 0;
  while (i <= path.size()) {
    std::size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    std::string s = path.substr(i, j - i);
    if (s == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!s.empty() && s != ".") {
      parts.push_back(s);
    }
    i = j + 1;
  }
  std::string out;
  for (const auto& p : parts) out += "/" + p;
  return out.empty() ? "/" : out;
}

namespace {

// path.Join(a, b) of Go: joined with one slash, "." and ".." resolved, no trailing slash.
std::string joinClean(const std::string& a, const std::string& b) {
  return cleanUrlPath(a + "/" + b);
}

struct Url {
  std::string scheme, host, path, rest;  // rest: ?query#fragment, as it was
  bool has_authority = false;
};

Url parseUrl(const std::string& s) {
  Url u;
  std::size_t end = s.find_first_of("?#");
  std::string base = s.substr(0, end);
  if (end != std::string::npos) u.rest = s.substr(end);
  std::size_t colon = base.find(':');
  if (colon != std::string::npos && colon > 0 &&
      std::isalpha(static_cast<unsigned char>(base[0])) && base.find('/') > colon) {
    bool ok = std::all_of(base.begin(), base.begin() + static_cast<long>(colon), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
    });
    if (ok) {
      u.scheme = base.substr(0, colon);
      base = base.substr(colon + 1);
    }
  }
  if (base.rfind("//", 0) == 0) {
    u.has_authority = true;
    std::size_t slash = base.find('/', 2);
    u.host = base.substr(2, slash == std::string::npos ? std::string::npos : slash - 2);
    base = slash == std::string::npos ? "" : base.substr(slash);
  }
  u.path = base;
  return u;
}

// html.UnescapeString for attribute values (the named entities links use, and numeric ones).
std::string unescape(const std::string& v) {
  static const std::map<std::string, std::string> named = {
      {"amp", "&"}, {"lt", "<"}, {"gt", ">"}, {"quot", "\""}, {"apos", "'"}};
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    std::size_t semi = v[i] == '&' ? v.find(';', i) : std::string::npos;
    if (semi != std::string::npos && semi - i <= 10) {
      std::string ent = v.substr(i + 1, semi - i - 1);
      if (auto it = named.find(ent); it != named.end()) {
        out += it->second;
        i = semi;
        continue;
      }
      if (ent.size() > 1 && ent[0] == '#') {
        bool hex = ent[1] == 'x' || ent[1] == 'X';
        try {
          unsigned long cp = std::stoul(ent.substr(hex ? 2 : 1), nullptr, hex ? 16 : 10);
          if (cp < 0x80) {
            out += static_cast<char>(cp);
            i = semi;
            continue;
          }
        } catch (...) {
        }
      }
    }
    out += v[i];
  }
  return out;
}

// html.EscapeString.
std::string escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '\'':
        out += "&#39;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\r':
        out += "&#13;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// Upstream's atomsToAttrs: which attributes of which tags hold URLs.
const std::set<std::string>* urlAttrs(const std::string& tag) {
  static const std::map<std::string, std::set<std::string>> table = {
      {"a", {"href"}},
      {"applet", {"codebase"}},
      {"area", {"href"}},
      {"audio", {"src"}},
      {"base", {"href"}},
      {"blockquote", {"cite"}},
      {"body", {"background"}},
      {"button", {"formaction"}},
      {"command", {"icon"}},
      {"del", {"cite"}},
      {"embed", {"src"}},
      {"form", {"action"}},
      {"frame", {"longdesc", "src"}},
      {"head", {"profile"}},
      {"html", {"manifest"}},
      {"iframe", {"longdesc", "src"}},
      {"img", {"longdesc", "src", "usemap"}},
      {"input", {"src", "usemap", "formaction"}},
      {"ins", {"cite"}},
      {"link", {"href"}},
      {"object", {"classid", "codebase", "data", "usemap"}},
      {"q", {"cite"}},
      {"script", {"src"}},
      {"source", {"src"}},
      {"video", {"poster", "src"}},
  };
  auto it = table.find(tag);
  return it == table.end() ? nullptr : &it->second;
}

bool isRawText(const std::string& tag) {
  static const std::set<std::string> raw = {"script",  "style",    "textarea", "title",   "iframe",
                                            "noembed", "noframes", "xmp",      "noscript"};
  return raw.count(tag) > 0;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Where </name (any case) starts at or after `from`; the end of the text when it does not.
std::size_t findEndTag(const std::string& h, std::size_t from, const std::string& name) {
  for (std::size_t p = h.find("</", from); p != std::string::npos; p = h.find("</", p + 2)) {
    if (lower(h.substr(p + 2, name.size())) == name) return p;
  }
  return h.size();
}

struct Tag {
  std::string name;
  std::vector<std::pair<std::string, std::string>> attrs;  // lower-case key, unescaped value
  bool self_closing = false;
  std::size_t end = 0;  // one past '>'
};

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

// A start tag at html[pos] == '<' followed by a letter, as the tokenizer reads it.
Tag readStartTag(const std::string& h, std::size_t pos) {
  Tag t;
  std::size_t i = pos + 1;
  while (i < h.size() && !isSpace(h[i]) && h[i] != '/' && h[i] != '>') t.name += h[i++];
  t.name = lower(t.name);
  while (i < h.size() && h[i] != '>') {
    if (isSpace(h[i]) || h[i] == '/') {
      t.self_closing = h[i] == '/' && i + 1 < h.size() && h[i + 1] == '>';
      ++i;
      continue;
    }
    std::string key;
    while (i < h.size() && !isSpace(h[i]) && h[i] != '=' && h[i] != '>' && h[i] != '/')
      key += h[i++];
    while (i < h.size() && isSpace(h[i])) ++i;
    std::string val;
    if (i < h.size() && h[i] == '=') {
      ++i;
      while (i < h.size() && isSpace(h[i])) ++i;
      if (i < h.size() && (h[i] == '"' || h[i] == '\'')) {
        char quote = h[i++];
        std::size_t close = h.find(quote, i);
        if (close == std::string::npos) close = h.size();
        val = h.substr(i, close - i);
        i = std::min(h.size(), close + 1);
      } else {
        while (i < h.size() && !isSpace(h[i]) && h[i] != '>') val += h[i++];
      }
    }
    t.attrs.emplace_back(lower(key), unescape(val));
  }
  t.end = std::min(h.size(), i + 1);
  return t;
}

}  // namespace

std::string rewriteProxyUrl(const std::string& url, const ProxyRewrite& rw) {
  Url u = parseUrl(url);
  bool different_host = !u.host.empty() && u.host != rw.backend_host && u.host != rw.request_host;
  if (different_host || u.path.empty() || u.path[0] != '/') return url;
  // The transport has no scheme and host of its own: a URL naming the backend loses them, one
  // naming the host the client asked keeps them.
  if (u.host != rw.request_host) {
    u.scheme.clear();
    u.host.clear();
  }
  if (u.path.rfind(rw.path_prepend, 0) != 0) {
    bool trailing = u.path.back() == '/';
    u.path = joinClean(rw.path_prepend, u.path);
    if (trailing && u.path.back() != '/') u.path += "/";
  }
  std::string out;
  if (!u.scheme.empty()) out += u.scheme + ":";
  if (!u.host.empty() || (!u.scheme.empty() && u.has_authority)) out += "//" + u.host;
  return out + u.path + u.rest;
}

std::string rewriteProxyHtml(const std::string& html, const ProxyRewrite& rw) {
  std::string out;
  out.reserve(html.size() + 256);
  std::size_t i = 0;
  while (i < html.size()) {
    std::size_t lt = html.find('<', i);
    if (lt == std::string::npos || lt + 1 >= html.size()) break;
    out.append(html, i, lt - i);
    char next = html[lt + 1];
    if (html.compare(lt, 4, "<!--") == 0) {
      std::size_t e = html.find("-->", lt + 4);
      e = e == std::string::npos ? html.size() : e + 3;
      out.append(html, lt, e - lt);
      i = e;
      continue;
    }
    if (!std::isalpha(static_cast<unsigned char>(next))) {
      // End tags, doctype, processing instructions, a stray '<': as they are.
      std::size_t e = next == '/' || next == '!' || next == '?' ? html.find('>', lt) : lt;
      e = e == std::string::npos ? html.size() : e + 1;
      out.append(html, lt, e - lt);
      i = e;
      continue;
    }
    Tag t = readStartTag(html, lt);
    const std::set<std::string>* attrs = urlAttrs(t.name);
    if (attrs) {
      // Re-serialized as Go's html.Token.String() does.
      out += "<" + t.name;
      for (auto& [k, v] : t.attrs) {
        std::string val = attrs->count(k) ? rewriteProxyUrl(v, rw) : v;
        out += " " + k + "=\"" + escape(val) + "\"";
      }
      out += t.self_closing ? "/>" : ">";
    } else {
      out.append(html, lt, t.end - lt);
    }
    i = t.end;
    if (isRawText(t.name) && !t.self_closing) {
      // Script and style bodies are text, not markup.
      std::size_t e = findEndTag(html, i, t.name);
      out.append(html, i, e - i);
      i = e;
    }
  }
  if (i < html.size()) out.append(html, i, std::string::npos);
  return out;
}

}  // namespace skiff::master::api
