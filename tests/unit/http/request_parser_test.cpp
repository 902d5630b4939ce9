// Request framing without sockets: pipelining, trickling, limits.
#include "http/request_parser.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mp::http {
namespace {

using Result = RequestParser::Result;

// Feeds `input` in chunks of `chunk` bytes; returns the targets of the
// complete requests and the first non-request result (kNeedMore at the end).
struct Outcome {
  std::vector<std::string> targets;
  Result last = Result::kNeedMore;
};
Outcome parse_all(RequestParser& p, const std::string& input, std::size_t chunk) {
  Outcome out;
  for (std::size_t at = 0; at < input.size();) {
    std::string_view piece(input.data() + at, std::min(chunk, input.size() - at));
    auto step = p.feed(piece);
    at += step.consumed;
    if (step.result == Result::kRequest) {
      out.targets.push_back(p.request().target);
      continue;
    }
    if (step.result != Result::kNeedMore) {
      out.last = step.result;
      return out;
    }
    EXPECT_EQ(step.consumed, piece.size());
  }
  return out;
}

TEST(RequestParser, PipelinedRequestsComeOutOneAtATime) {
  RequestParser p({});
  const std::string in =
      "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b?q=1 HTTP/1.1\r\n\r\nHEAD /c HTTP/1.1\r\n\r\n";
  auto step = p.feed(in);
  EXPECT_EQ(step.result, Result::kRequest);
  EXPECT_EQ(p.request().method, "GET");
  EXPECT_EQ(p.request().target, "/a");
  EXPECT_TRUE(p.request().keep_alive);
  EXPECT_FALSE(p.in_request());
  std::string_view rest(in);
  rest.remove_prefix(step.consumed);
  step = p.feed(rest);
  EXPECT_EQ(step.result, Result::kRequest);
  EXPECT_EQ(p.request().target, "/b?q=1");
  rest.remove_prefix(step.consumed);
  step = p.feed(rest);
  EXPECT_EQ(step.result, Result::kRequest);
  EXPECT_EQ(p.request().method, "HEAD");
  EXPECT_EQ(step.consumed, rest.size());
}

TEST(RequestParser, ByteByByteGivesTheSameRequests) {
  RequestParser p({});
  const std::string in = "GET /a HTTP/1.1\r\nX: y\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
  auto out = parse_all(p, in, 1);
  EXPECT_EQ(out.targets, (std::vector<std::string>{"/a", "/b"}));
  EXPECT_EQ(out.last, Result::kNeedMore);
}

TEST(RequestParser, InRequestFromTheFirstByte) {
  RequestParser p({});
  EXPECT_FALSE(p.in_request());
  EXPECT_EQ(p.feed("G").result, Result::kNeedMore);
  EXPECT_TRUE(p.in_request());
  // Even blank lines before a request count: they cannot stall forever.
  RequestParser q({});
  EXPECT_EQ(q.feed("\r\n").result, Result::kNeedMore);
  EXPECT_TRUE(q.in_request());
}

TEST(RequestParser, KeepAliveFollowsVersionAndConnectionHeader) {
  struct Case {
    const char* req;
    bool keep_alive;
  } cases[] = {
      {"GET / HTTP/1.1\r\n\r\n", true},
      {"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false},
      {"GET / HTTP/1.0\r\n\r\n", false},
      {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true},
      {"GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", false},
  };
  for (const auto& c : cases) {
    RequestParser p({});
    ASSERT_EQ(p.feed(c.req).result, Result::kRequest) << c.req;
    EXPECT_EQ(p.request().keep_alive, c.keep_alive) << c.req;
  }
}

TEST(RequestParser, HeadAtTheLimitPassesOneByteMoreIs431) {
  RequestParser::Limits limits{64, 16};
  const std::string start = "GET / HTTP/1.1\r\nX: ";
  const std::string end = "\r\n\r\n";
  const std::string fits = start + std::string(64 - start.size() - end.size(), 'a') + end;
  ASSERT_EQ(fits.size(), 64u);
  for (std::size_t chunk : {std::size_t{1}, std::size_t{7}, fits.size() + 100}) {
    RequestParser ok(limits);
    EXPECT_EQ(parse_all(ok, fits + fits, chunk).targets.size(), 2u) << chunk;
    RequestParser big(limits);
    const std::string too_big = start + std::string(70, 'a') + end;
    EXPECT_EQ(parse_all(big, too_big, chunk).last, Result::kHeadTooLarge) << chunk;
  }
}

TEST(RequestParser, EndlessHeadIsCutAtTheLimitNotBuffered) {
  RequestParser p({1024, 16});
  std::string head = "GET / HTTP/1.1\r\n";
  Result last = Result::kNeedMore;
  std::size_t fed = 0;
  while (last == Result::kNeedMore && fed < 100000) {
    const std::string line =
        "X-A: bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\r\n";
    auto step = p.feed(fed == 0 ? head + line : line);
    fed += step.consumed;
    last = step.result;
  }
  EXPECT_EQ(last, Result::kHeadTooLarge);
  EXPECT_LE(fed, 1025u + 100u);
}

TEST(RequestParser, SmallBodyIsSkippedLargeBodyIs413) {
  RequestParser p({8192, 16});
  auto out =
      parse_all(p, "POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET /b HTTP/1.1\r\n\r\n", 3);
  EXPECT_EQ(out.targets, (std::vector<std::string>{"/a", "/b"}));
  RequestParser declared({8192, 16});
  EXPECT_EQ(declared.feed("POST /a HTTP/1.1\r\nContent-Length: 17\r\n\r\n").result,
            Result::kBodyTooLarge);
  RequestParser chunked({8192, 16});
  EXPECT_EQ(parse_all(chunked,
                      "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "a\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n",
                      4)
                .last,
            Result::kBodyTooLarge);
}

TEST(RequestParser, GarbageIs400AndTheParserStaysSpent) {
  RequestParser p({});
  EXPECT_EQ(p.feed("\x16\x03\x01 hello\r\n\r\n").result, Result::kBadRequest);
  EXPECT_EQ(p.feed("GET / HTTP/1.1\r\n\r\n").result, Result::kBadRequest);
  RequestParser q({});
  EXPECT_EQ(q.feed("GET / HTTP/1.1\r\nBad Header\r\n\r\n").result, Result::kBadRequest);
}

}  // namespace
}  // namespace mp::http
