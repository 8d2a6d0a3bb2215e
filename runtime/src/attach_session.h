#pragma once

// Private: the client side of the shim's attach socket (protocol in shim/shim_main.cc,
// "Attach protocol"), as an ExecSession.

#include <memory>
#include <string>

#include "skiff/common/result.h"
#include "skiff/runtime/runtime.h"

namespace skiff::runtime {

// Connects to <container dir>/attach.sock. `want_stdin` without a container stdin: Invalid.
Result<std::unique_ptr<ExecSession>> connectAttach(const std::string& container_dir,
                                                   const std::string& name, bool want_stdin);

}  // namespace skiff::runtime
