#pragma once

#include <string>
#include <vector>

namespace livecommerce::order::testing {

struct TestKeyPair {
  std::string private_pem;  // PKCS#8
  std::string public_pem;   // SubjectPublicKeyInfo
};

// A fresh RSA key pair made with OpenSSL (no key file is committed). Aborts the test on failure.
TestKeyPair GenerateRsaKeyPair(int bits = 2048);
// Generating RSA keys is slow; tests that only need "some key" share these per process.
const TestKeyPair& MerchantKey();
const TestKeyPair& PlatformKey();
const TestKeyPair& OtherKey();

struct TestCertificate {
  std::string cert_pem;
  std::string key_pem;  // the subject's private key
};

struct CertificateSpec {
  std::string common_name;
  std::string serial_hex = "01";
  bool is_ca = false;
  std::vector<std::string> subject_alt_names;  // "DNS:localhost", "IP:127.0.0.1"
  int valid_days = 1;
};

// An X.509 v3 certificate for `subject_key_pem`, signed by `issuer` (self-signed when null).
TestCertificate MakeCertificate(const std::string& subject_key_pem, const CertificateSpec& spec,
                                const TestCertificate* issuer);

}  // namespace livecommerce::order::testing
