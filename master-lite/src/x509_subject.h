#pragma once

// The identity a certificate names: CN is the user, each O a group (how Kubernetes reads client
// certificates and node CSRs).

#include <openssl/x509.h>

#include <string>
#include <vector>

namespace skiff::master {

struct CertSubject {
  std::string cn;
  std::vector<std::string> orgs;
};

// Reads CN and every O (in order) from an X.509 name; other attributes are ignored.
CertSubject readCertSubject(const X509_NAME* name);

}  // namespace skiff::master
