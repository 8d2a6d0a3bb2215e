#pragma once

// Small helpers shared by the API server's resource logic: time stamps, uids, names.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace skiff::master::api {

using json = nlohmann::json;
using Clock = std::chrono::system_clock;

// RFC 3339 UTC with second precision, as metav1.Time marshals: "2025-01-02T03:04:05Z".
std::string formatTime(Clock::time_point t);
// Parses "2025-01-02T03:04:05Z" (fractions and offsets accepted); epoch on failure.
Clock::time_point parseTime(const std::string& s);
// A random RFC 4122 version 4 UUID.
std::string newUid();
// 5 characters from the alphabet Kubernetes uses for generateName ("bcdfghjklmnpqrstvwxz2456789").
std::string randomSuffix(std::size_t n = 5);

// "" when valid, else the Kubernetes message ("a lowercase RFC 1123 subdomain must consist of
// ...").
std::string checkDns1123Subdomain(const std::string& v);
std::string checkDns1123Label(const std::string& v);
std::string checkDns1035Label(const std::string& v);

// kubectl's HumanDuration (apimachinery pkg/util/duration): "5s", "3m2s", "4h", "2d3h".
std::string humanDuration(std::chrono::seconds d);

// obj[a][b]... or a null json when a step is missing (never inserts).
const json& at(const json& obj, std::initializer_list<const char*> path);
std::string str(const json& obj, std::initializer_list<const char*> path);

}  // namespace skiff::master::api
