import { useState, type FormEvent, type ReactNode } from "react";
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
      <LoginForm
        id="choose-title"
        title={t("login.chooseTitle")}
        intro={t("login.chooseExplain", { username: username.trim() })}
        error={error}
        busy={busy}
        submit={t("login.setPassword")}
        onSubmit={choose}
      >
        <Field
          label={t("login.newPassword")}
          name="new-password"
          secret
          autoComplete="new-password"
          autoFocus
          value={newPassword}
          onChange={setNewPassword}
        />
        <Field
          label={t("login.repeatPassword")}
          name="repeat-password"
          secret
          autoComplete="new-password"
          value={repeat}
          onChange={setRepeat}
        />
      </LoginForm>
    );
  }

  return (
    <LoginForm
      id="login-title"
      title="Switchboard"
      intro={t("login.subtitle")}
      error={error}
      busy={busy}
      submit={busy ? t("login.signingIn") : t("login.signIn")}
      onSubmit={submit}
    >
      <Field
        label={t("login.username")}
        name="username"
        autoComplete="username"
        autoFocus
        value={username}
        onChange={setUsername}
      />
      <Field
        label={t("login.password")}
        name="password"
        secret
        autoComplete="current-password"
        value={password}
        onChange={setPassword}
      />
    </LoginForm>
  );
}

/** The sign-in card: its title, a line of explanation, the fields, the error and the button. */
function LoginForm(props: {
  id: string;
  title: string;
  intro: string;
  error: string | null;
  busy: boolean;
  submit: string;
  onSubmit: (event: FormEvent) => void;
  children: ReactNode;
}) {
  return (
    <div className="login-wrap">
      <form className="login card" onSubmit={props.onSubmit} aria-labelledby={props.id}>
        <h1 id={props.id}>{props.title}</h1>
        <p className="muted">{props.intro}</p>
        {props.children}
        {props.error && (
          <p className="error" role="alert">
            {props.error}
          </p>
        )}
        <button className="primary" type="submit" disabled={props.busy}>
          {props.submit}
        </button>
      </form>
    </div>
  );
}

function Field(props: {
  label: string;
  name: string;
  autoComplete: string;
  value: string;
  onChange: (value: string) => void;
  secret?: boolean;
  autoFocus?: boolean;
}) {
  return (
    <label>
      {props.label}
      <input
        name={props.name}
        type={props.secret ? "password" : "text"}
        autoComplete={props.autoComplete}
        autoFocus={props.autoFocus}
        required
        value={props.value}
        onChange={(e) => props.onChange(e.target.value)}
      />
    </label>
  );
}
