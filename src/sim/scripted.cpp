#include "sim/scripted.h"

#include <array>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <system_error>

namespace bird_exporter::sim {
namespace {

// Shortest text that reads back as the same double: 4.47 -> "4.47".
std::string FormatDecimal(double value) {
  std::array<char, 64> buffer{};
  const auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  if (ec != std::errc()) return "0";
  return std::string(buffer.data(), end);
}

// A stable made-up E.164 number derived from `seed`.
std::string MadeUpNumber(std::string_view prefix, std::string_view seed) {
  std::uint32_t hash = 2166136261u;
  for (char c : seed) hash = (hash ^ static_cast<std::uint8_t>(c)) * 16777619u;
  std::array<char, 16> digits{};
  std::snprintf(digits.data(), digits.size(), "%08u", hash % 100000000u);
  return std::string(prefix) + digits.data();
}

// The fields shared by a ChannelCall record and a CallInsights body.
nlohmann::json CallFields(const ScriptedCall& call) {
  const std::string channel_number = MadeUpNumber("+3120", call.channel_id).substr(0, 12);
  const std::string remote_number = MadeUpNumber("+316", call.id);
  const bool outgoing = call.direction == "outgoing";
  nlohmann::json out = nlohmann::json::object();
  out["id"] = call.id;
  out["channelId"] = call.channel_id;
  out["from"] = outgoing ? channel_number : remote_number;
  out["to"] = outgoing ? remote_number : channel_number;
  out["direction"] = call.direction;
  out["status"] = call.status;
  out["type"] = call.type;
  if (call.duration) out["duration"] = *call.duration;
  if (call.hangup_cause_code) out["hangupCauseCode"] = *call.hangup_cause_code;
  if (!call.hangup_source.empty()) out["hangupSource"] = call.hangup_source;
  if (!call.hangup_sip_code.empty()) out["hangupSipCode"] = call.hangup_sip_code;
  out["createdAt"] = FormatRfc3339(call.created_at);
  out["updatedAt"] = FormatRfc3339(call.ended_at.value_or(call.created_at));
  if (call.answered_at) out["answeredAt"] = FormatRfc3339(*call.answered_at);
  if (call.ended_at) out["endedAt"] = FormatRfc3339(*call.ended_at);
  return out;
}

std::string Html(std::string_view title) {
  return "<!DOCTYPE html>\n<html><head><title>" + std::string(title) + "</title></head><body><h1>" +
         std::string(title) + "</h1><p>Please try again later.</p></body></html>\n";
}

std::string ErrorBody(std::string_view code, std::string_view message) {
  return nlohmann::json{{"code", code}, {"message", message}}.dump();
}

}  // namespace

nlohmann::json ScriptedRecord(const ScriptedCall& call) {
  nlohmann::json out = CallFields(call);
  nlohmann::json quality = nlohmann::json::object();
  if (call.list_mos) quality["mos"] = FormatDecimal(*call.list_mos);
  if (call.list_pdd) quality["pdd"] = FormatDecimal(*call.list_pdd);
  if (!quality.empty()) out["qualityInsights"] = std::move(quality);
  return out;
}

nlohmann::json ScriptedInsights(const ScriptedCall& call) {
  return call.insights.is_null() ? CallFields(call) : call.insights;
}

std::string WithRaw(std::string body, const ScriptedCall& call) {
  for (const auto& [from, to] : call.raw) {
    for (auto at = body.find(from); at != std::string::npos; at = body.find(from, at + to.size())) {
      body.replace(at, from.size(), to);
    }
  }
  return body;
}

FaultAnswer AnswerOf(Fault fault, std::string_view endpoint) {
  switch (fault) {
    case Fault::kTooManyRequests:
      return {429, "application/json", ErrorBody("TooManyRequests", "rate limit exceeded"), {}};
    case Fault::kTooManyRequestsRetryAfter:
      return {429,
              "application/json",
              ErrorBody("TooManyRequests", "rate limit exceeded"),
              {{"Retry-After", "1"}}};
    case Fault::kServerErrorHtml:
      return {502, "text/html; charset=utf-8", Html("502 Bad Gateway"), {}};
    case Fault::kServiceUnavailable:
      return {503,
              "application/json",
              ErrorBody("ServiceUnavailable", "service temporarily unavailable"),
              {}};
    case Fault::kMalformedBody:
      if (endpoint == "call_insights") return {200, "application/json", "[1,2,3]", {}};
      return {200, "application/json", R"({"results":"oops"})", {}};
    case Fault::kHtmlOk:
      return {200, "text/html; charset=utf-8", Html("Sign in to continue"), {}};
    case Fault::kHugeNestedBody: {
      constexpr std::size_t kDepth = 30'000'000;
      FaultAnswer huge;
      huge.body.reserve(2 * kDepth + 64);
      huge.body = "{\"results\":[{\"id\":\"x\",\"callFlow\":";
      huge.body.append(kDepth, '[');
      huge.body.append(kDepth, ']');
      huge.body += "}]}";
      return huge;
    }
    case Fault::kTruncatedBody:
    case Fault::kSlow:
      break;
  }
  return {};
}

}  // namespace bird_exporter::sim
