// Registry v2 pull. TODO(runtime): Boost.Beast client with the anonymous bearer token flow.
#include "image_store_impl.h"

namespace skiff::runtime {

Result<StagedImage> fetchFromRegistry(const ImageRef& ref, const RegistryOptions&, const std::string&) {
  return Error(ErrorCode::Unsupported, "registry pull of '" + ref.str() + "' is not implemented yet");
}

}  // namespace skiff::runtime
