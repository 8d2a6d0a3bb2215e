#include "skiff/hostinfo/cpuinfo.h"

#include <algorithm>
#include <iterator>
#include <optional>
#include <utility>

#include "text.h"

namespace skiff::hostinfo {
namespace {

using detail::lineError;
using detail::trim;

// A few common Arm cores (implementer 0x41), enough to name Raspberry Pi and Graviton hosts.
std::string armCoreName(std::string_view implementer, std::string_view part) {
  struct Part {
    std::string_view id;
    std::string_view name;
  };
  static constexpr Part kArmParts[] = {
      {"0xd03", "Cortex-A53"},  {"0xd04", "Cortex-A35"},  {"0xd05", "Cortex-A55"},
      {"0xd07", "Cortex-A57"},  {"0xd08", "Cortex-A72"},  {"0xd09", "Cortex-A73"},
      {"0xd0a", "Cortex-A75"},  {"0xd0b", "Cortex-A76"},  {"0xd0c", "Neoverse-N1"},
      {"0xd0d", "Cortex-A77"},  {"0xd40", "Neoverse-V1"}, {"0xd41", "Cortex-A78"},
      {"0xd49", "Neoverse-N2"}, {"0xd4f", "Neoverse-V2"},
  };
  if (implementer == "0x41") {
    for (const auto& p : kArmParts) {
      if (p.id == part) return std::string(p.name);
    }
    return part.empty() ? std::string() : "ARM part " + std::string(part);
  }
  return std::string();
}

std::string armVendor(std::string_view implementer) {
  if (implementer == "0x41") return "ARM";
  if (implementer == "0x61") return "Apple";
  if (implementer == "0x51") return "Qualcomm";
  if (implementer == "0x48") return "HiSilicon";
  if (implementer == "0xc0") return "Ampere";
  return std::string(implementer);
}

}  // namespace

Result<CpuInfo> parseCpuInfo(std::string_view text, std::string_view source) {
  SKIFF_TRY(detail::checkText(text, source));
  CpuInfo info;
  std::string x86_model, ppc_cpu, rpi_model, arm_implementer, arm_part, s390_machine;
  std::string vendor_id, platform;
  std::optional<int> s390_count;
  bool saw_flags = false;
  bool saw_features = false;
  // Lines every core repeats: the first core's value is the host's.
  const std::pair<std::string_view, std::string*> first_core_values[] = {
      {"model name", &x86_model}, {"vendor_id", &vendor_id}, {"CPU implementer", &arm_implementer},
      {"CPU part", &arm_part},    {"cpu", &ppc_cpu},
  };

  for (const auto& [raw, line_no] : detail::nonBlankLines(text)) {
    const std::string_view line = trim(raw);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      return lineError(source, line_no, "expected 'key: value', got '" + std::string(line) + "'");
    }
    const std::string_view key = trim(line.substr(0, colon));
    const std::string_view value = trim(line.substr(colon + 1));

    auto first_core = std::find_if(std::begin(first_core_values), std::end(first_core_values),
                                   [&](const auto& f) { return f.first == key; });
    if (first_core != std::end(first_core_values)) {
      if (first_core->second->empty()) *first_core->second = value;
    } else if (key == "processor") {
      auto id = detail::parseInt(value);
      if (!id)
        return lineError(source, line_no, "bad processor number '" + std::string(value) + "'");
      info.processors.push_back(*id);
    } else if (key.starts_with("processor ")) {
      // s390x: "processor 0: version = FF,  identification = 0133E8,  machine = 8561"
      auto id = detail::parseInt(trim(key.substr(10)));
      if (!id) return lineError(source, line_no, "bad processor number '" + std::string(key) + "'");
      info.processors.push_back(*id);
      if (auto m = value.find("machine = "); m != std::string_view::npos) {
        s390_machine = std::string(trim(value.substr(m + 10)));
      }
    } else if (key == "# processors") {
      auto n = detail::parseInt(value);
      if (!n) return lineError(source, line_no, "bad processor count '" + std::string(value) + "'");
      s390_count = *n;
    } else if (key == "flags") {
      saw_flags = true;
    } else if (key == "Features") {
      saw_features = true;
    } else if (key == "Model") {
      rpi_model = value;
    } else if (key == "platform") {
      platform = value;
    }
  }

  if (vendor_id == "IBM/S390" || s390_count) {
    info.layout = CpuInfo::Layout::S390x;
    info.vendor = vendor_id;
    info.model_name = s390_machine.empty() ? "IBM/S390" : "IBM/S390 machine " + s390_machine;
    if (info.processors.empty() && s390_count) {
      for (int c = 0; c < *s390_count; ++c) info.processors.push_back(c);
    }
  } else if (!arm_implementer.empty() || saw_features) {
    info.layout = CpuInfo::Layout::Arm64;
    info.vendor = armVendor(arm_implementer);
    info.model_name = !rpi_model.empty() ? rpi_model : armCoreName(arm_implementer, arm_part);
  } else if (!ppc_cpu.empty()) {
    info.layout = CpuInfo::Layout::Ppc64;
    info.vendor = platform;
    info.model_name = ppc_cpu;
  } else if (saw_flags || !vendor_id.empty() || !x86_model.empty()) {
    info.layout = CpuInfo::Layout::X86;
    info.vendor = vendor_id;
    info.model_name = x86_model;
  }

  if (info.processors.empty()) {
    return detail::parseError(source, "no processor entries (empty or truncated file)");
  }
  std::sort(info.processors.begin(), info.processors.end());
  if (std::adjacent_find(info.processors.begin(), info.processors.end()) != info.processors.end()) {
    return detail::parseError(source, "processor listed twice");
  }
  return info;
}

}  // namespace skiff::hostinfo
