/* SPDX-License-Identifier: MIT */
/*
 * The static-asset filter the recording pipeline (reprise/intake.h) applies to every source's
 * exchanges (the proxy, capture, HAR import): images, fonts, style sheets, scripts and media
 * are what a browser fetches around a session, not the session itself, and are left out of
 * recordings by default.
 */
#ifndef REPRISE_FILTER_H
#define REPRISE_FILTER_H

#include <reprise/exchange.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * True when ex (borrowed) fetched a static asset. Only GET and HEAD requests can be: any other
 * method is part of the session whatever its URL. Then the response's media type decides:
 * any image/, font/, video/ or audio/ type, text/css, application/javascript, text/javascript,
 * application/x-javascript, application/ecmascript, application/font-... and application/x-font-...
 * types, and application/vnd.ms-fontobject are static; JSON (rp_media_is_json) and HTML
 * (text/html, application/xhtml+xml) never are, whatever the URL says. Otherwise (another
 * media type, none, or no response) the extension of the URL's last path segment decides,
 * ignoring the query and fragment and letter case: .png .jpg .jpeg .gif .webp .avif .bmp .svg
 * .ico .css .js .mjs .map .woff .woff2 .ttf .otf .eot .mp4 .webm .mp3 .ogg .wav.
 */
RP_EXTERN bool rp_filter_is_static(const struct rp_exchange *ex);

#ifdef __cplusplus
}
#endif
#endif /* REPRISE_FILTER_H */
