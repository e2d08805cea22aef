// The OpenID provider the sign-in tests talk to: axa-group's oauth2-mock-server (npm), on a
// loopback port, printing `READY <issuer>` once it serves. A test picks what the provider does
// per sign-in by adding to the authorisation request the app made: `mock_scenario` (ok,
// wrong_aud, expired, bad_nonce), `mock_sub`, `mock_email`, `mock_email_verified` (`false`),
// `mock_name`, `mock_roles` (comma-separated; `-` for none) and `mock_org`. The choice is tied to the code issued, so tests
// running side by side do not disturb each other. It exits when its stdin closes.
import { OAuth2Server } from "oauth2-mock-server";

const server = new OAuth2Server();
await server.issuer.keys.generate("RS256");
await server.start(Number(process.argv[2] ?? 0), "127.0.0.1");
server.issuer.url = `http://127.0.0.1:${server.address().port}`;

const byCode = new Map();
server.service.on("beforeAuthorizeRedirect", (redirect, req) => {
  const query = new URL(req.url, "http://provider").searchParams;
  const code = redirect.url.searchParams.get("code");
  if (!code) return;
  const roles = query.get("mock_roles") ?? "tiedoksi-caseworker";
  byCode.set(code, {
    scenario: query.get("mock_scenario") ?? "ok",
    sub: query.get("mock_sub") ?? "alice",
    email: query.get("mock_email") ?? `${query.get("mock_sub") ?? "alice"}@kunta.example`,
    name: query.get("mock_name") ?? "Alice Käsittelijä",
    emailVerified: query.get("mock_email_verified") !== "false",
    roles: roles === "-" ? [] : roles.split(",").filter(Boolean),
    org: query.get("mock_org"),
  });
});
server.service.on("beforeTokenSigning", (token, req) => {
  const payload = token.payload;
  const chosen = byCode.get(req.body?.code);
  // The access token carries `scope`; only the ID token is shaped here.
  if (!chosen || "scope" in payload) return;
  const now = Math.floor(Date.now() / 1000);
  payload.sub = chosen.sub;
  payload.email = chosen.email;
  payload.email_verified = chosen.emailVerified;
  payload.name = chosen.name;
  payload.roles = chosen.roles;
  if (chosen.org) payload.org = chosen.org;
  if (chosen.scenario === "wrong_aud") payload.aud = "some-other-client";
  if (chosen.scenario === "expired") {
    payload.iat = now - 600;
    payload.nbf = now - 600;
    payload.exp = now - 300;
  }
  if (chosen.scenario === "bad_nonce") payload.nonce = "not-the-nonce";
  byCode.delete(req.body.code);
});

console.log(`READY ${server.issuer.url}`);
const stop = async () => {
  await server.stop();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.stdin.on("end", stop);
process.stdin.resume();
