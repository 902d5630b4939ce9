// The status page's files (src/http/assets/), compiled into the binary by
// cmake/embed_assets.cmake: no files to install, no CDN.
#pragma once

#include <string_view>

namespace mp::http::assets {

extern const std::string_view kIndexHtml;
extern const std::string_view kStatusCss;
extern const std::string_view kStatusJs;

}  // namespace mp::http::assets
