import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate, useSearchParams } from "react-router-dom";
import { ApiError, fieldErrors, mustChangePassword } from "../api";
import { useSession } from "../session";

export default function LoginPage() {
  const { login, changePassword } = useSession();
  // Set when the password was reset: the temporary one is right, a new one must be chosen.
  const [choosing, setChoosing] = useState(false);
  const [newPassword, setNewPassword] = useState("");
  const [repeat, setRepeat] = useState("");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const { t } = useTranslation();

  function proceed() {
    const next = params.get("next");
    navigate(next && next.startsWith("/") && !next.startsWith("/login") ? next : "/", { replace: true });
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await login(username.trim(), password);
      proceed();
    } catch (e) {
      if (mustChangePassword(e)) setChoosing(true);
      else setError(e instanceof ApiError && e.status === 401 ? t("login.wrongPassword") : (e as Error).message);
    } finally {
      setBusy(false);
    }
  }

  async function choose(event: FormEvent) {
    event.preventDefault();
    if (newPassword !== repeat) {
      setError(t("login.passwordsDiffer"));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await changePassword(username.trim(), password, newPassword);
      proceed();
    } catch (e) {
      const byField = fieldErrors(e);
      setError(
        e instanceof ApiError && e.status === 401
          ? t("login.wrongPassword")
          : (byField.new_password ?? (e as Error).message),
      );
    } finally {
      setBusy(false);
    }
  }

  if (choosing) {
    return (
      <div className="login-wrap">
        <form className="login card" onSubmit={choose} aria-labelledby="choose-title">
          <h1 id="choose-title">{t("login.chooseTitle")}</h1>
          <p className="muted">{t("login.chooseExplain", { username: username.trim() })}</p>
          <label>
            {t("login.newPassword")}
            <input
              name="new-password"
              type="password"
              autoComplete="new-password"
              autoFocus
              required
              value={newPassword}
              onChange={(e) => setNewPassword(e.target.value)}
            />
          </label>
          <label>
            {t("login.repeatPassword")}
            <input
              name="repeat-password"
              type="password"
              autoComplete="new-password"
              required
              value={repeat}
              onChange={(e) => setRepeat(e.target.value)}
            />
          </label>
          {error && (
            <p className="error" role="alert">
              {error}
            </p>
          )}
          <button className="primary" type="submit" disabled={busy}>
            {t("login.setPassword")}
          </button>
        </form>
      </div>
    );
  }

  return (
    <div className="login-wrap">
      <form className="login card" onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">Switchboard</h1>
        <p className="muted">{t("login.subtitle")}</p>
        <label>
          {t("login.username")}
          <input
            name="username"
            autoComplete="username"
            autoFocus
            required
            value={username}
            onChange={(e) => setUsername(e.target.value)}
          />
        </label>
        <label>
          {t("login.password")}
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button className="primary" type="submit" disabled={busy}>
          {busy ? t("login.signingIn") : t("login.signIn")}
        </button>
      </form>
    </div>
  );
}
