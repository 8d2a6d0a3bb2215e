#include "x509_subject.h"

#include <openssl/crypto.h>

namespace skiff::master {

CertSubject readCertSubject(const X509_NAME* name) {
  CertSubject subj;
  for (int i = 0; i < X509_NAME_entry_count(name); ++i) {
    const X509_NAME_ENTRY* e = X509_NAME_get_entry(name, i);
    int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
    if (nid != NID_commonName && nid != NID_organizationName) continue;
    unsigned char* utf8 = nullptr;
    int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
    std::string v =
        n > 0 ? std::string(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(n)) : "";
    OPENSSL_free(utf8);
    if (nid == NID_commonName) subj.cn = v;
    if (nid == NID_organizationName) subj.orgs.push_back(v);
  }
  return subj;
}

}  // namespace skiff::master
