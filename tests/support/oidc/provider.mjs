// A real OpenID Connect provider for tests: node provider.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI
// The login typed in its dev login form becomes the account; accounts whose login starts with
// "unverified" get email_verified=false, and "nomail" accounts get no email at all.
import Provider from "oidc-provider";

const [port, clientId, clientSecret, redirectUri] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [{ client_id: clientId, client_secret: clientSecret, redirect_uris: [redirectUri],
              grant_types: ["authorization_code"], response_types: ["code"] }],
  claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ["test-only-cookie-key"] },
  async findAccount(ctx, id) {
    const login = String(id);
    return {
      accountId: login,
      async claims() {
        if (login.startsWith("nomail")) return { sub: login };
        const email = login.includes("@") ? login.replace(/^unverified-/, "") : `${login}@example.test`;
        return { sub: login.startsWith("other-") ? `x-${login}` : login,
                 email: email.replace(/^other-/, ""), email_verified: !login.startsWith("unverified"), name: login };
      },
    };
  },
});
provider.proxy = false;
provider.listen(Number(port), "127.0.0.1", () => console.log(`ready ${issuer}`));
