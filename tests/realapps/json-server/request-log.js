// SPDX-License-Identifier: MIT
// A json-server middleware (--middlewares): the server's own request log, a JSON line per
// request with its method, URL and Authorization header, appended to $REALAPP_REQUEST_LOG.
// test_realapp_bearer.sh reads from it which token the server received on each request.
const fs = require("fs");

module.exports = (req, res, next) => {
    const line = { method: req.method, url: req.originalUrl, authorization: req.headers.authorization || null };
    fs.appendFileSync(process.env.REALAPP_REQUEST_LOG, JSON.stringify(line) + "\n");
    next();
};
