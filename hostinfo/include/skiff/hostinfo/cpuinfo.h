#pragma once

// /proc/cpuinfo in the layouts Linux prints on x86_64, aarch64, ppc64le and s390x.

#include <string>
#include <string_view>
#include <vector>

#include "skiff/common/result.h"

namespace skiff::hostinfo {

struct CpuInfo {
  enum class Layout { X86, Arm64, Ppc64, S390x, Unknown };
  Layout layout = Layout::Unknown;
  // Logical CPU ids listed ("processor : N", s390x "processor N: ..."), ascending.
  std::vector<int> processors;
  // Best human name: x86 "model name", ppc64 "cpu", Raspberry Pi "Model", arm64 core name from
  // "CPU implementer"/"CPU part", s390x "IBM/S390 machine NNNN". Empty when the file has none.
  std::string model_name;
  // x86/s390x "vendor_id", arm64 implementer name, ppc64 "platform".
  std::string vendor;
};

// Parses the text of /proc/cpuinfo; `source` names the file in errors. Errors (ErrorCode::Invalid)
// for binary data, a non-empty line without "key: value", a bad processor number, a duplicated
// processor, or no processor at all (an empty or truncated file).
Result<CpuInfo> parseCpuInfo(std::string_view text, std::string_view source);

}  // namespace skiff::hostinfo
