import { useState } from "preact/hooks";
import { signIn, signedOutReason } from "../actions";
import { ApiError } from "../api";
import { Logo } from "./icons";

export function Login() {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    const u = username.trim();
    if (!/^[^@\s]+@[^@\s]+$/.test(u)) {
      setError("Enter your extension and domain, like 101@acme.example.");
      return;
    }
    setBusy(true);
    setError("");
    try {
      await signIn(u, password);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : "Could not sign in.");
      setBusy(false);
    }
  };

  const reason = signedOutReason.value;
  return (
    <main class="login">
      <div class="login-card">
        <div class="login-brand">
          <Logo />
          <span>Switchboard</span>
        </div>
        <h1>Sign in</h1>
        <p class="muted">Chat with your team and see who is available.</p>
        <form onSubmit={submit} noValidate>
          {(error || reason) && (
            <p class="form-error" role="alert" id="login-error">
              {error || reason}
            </p>
          )}
          <label for="login-user">Extension</label>
          <input
            id="login-user"
            name="username"
            type="text"
            inputMode="email"
            autoComplete="username"
            autoCapitalize="none"
            spellcheck={false}
            placeholder="101@acme.example"
            value={username}
            onInput={(e) => setUsername(e.currentTarget.value)}
            aria-describedby="login-user-hint"
            autofocus
            required
          />
          <p class="hint" id="login-user-hint">
            Your extension number and company domain.
          </p>
          <label for="login-password">Password</label>
          <input
            id="login-password"
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
            required
          />
          <button type="submit" class="button button-primary button-block" disabled={busy}>
            {busy ? "Signing in…" : "Sign in"}
          </button>
        </form>
      </div>
      <p class="login-foot muted">Team chat and presence for your phone system.</p>
    </main>
  );
}
