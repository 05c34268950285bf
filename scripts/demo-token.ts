// Mints a JWT signed with the DEMO key (examples/bookinfo/security/demo-private-key.json), for
// trying RequestAuthentication locally: npx tsx scripts/demo-token.ts jason [role]
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { importJWK, SignJWT } from "jose";

const [sub = "jason", role] = process.argv.slice(2);
const { "//": _note, ...jwk } = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), "../examples/bookinfo/security/demo-private-key.json"), "utf8"));
const key = await importJWK(jwk, "ES256");
const token = await new SignJWT({ sub, ...(role ? { role } : {}) })
  .setProtectedHeader({ alg: "ES256", kid: jwk.kid })
  .setIssuer("https://demo.isomesh.dev")
  .setAudience("bookinfo")
  .setIssuedAt()
  .setExpirationTime("1h")
  .sign(key);
console.log(token);
