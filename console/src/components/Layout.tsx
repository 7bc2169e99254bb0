/** The frame of every page: navigation by role, the operator, the live-call connection, pop-ups. */
import { NavLink, Outlet } from "react-router-dom";
import { useEffect, useState } from "react";
import { worklist } from "../api";
import { roleLabel } from "../format";
import { NotifyProvider, useNotify } from "../notify";
import { can, DirectoryProvider, usePrincipal, useSession } from "../session";
import CurrentCallPanel from "./CurrentCallPanel";
import PopupOverlay from "./PopupOverlay";

function ConnectionBadge() {
  const { state } = useNotify();
  const text = state === "online" ? "Live calls on" : state === "connecting" ? "Connecting…" : "Live calls offline";
  return (
    <span className={`conn conn-${state}`} role="status" title="Incoming-call pop-ups" data-testid="notify-state">
      <span className="conn-dot" aria-hidden="true" />
      {text}
    </span>
  );
}

/** The call-back worklist's open count, read again whenever notify says it changed. */
function CallbacksCount() {
  const { worklistVersion } = useNotify();
  const [open, setOpen] = useState<number | null>(null);
  useEffect(() => {
    let current = true;
    worklist
      .count()
      .then((c) => current && setOpen(c.open))
      .catch(() => current && setOpen(null));
    return () => {
      current = false;
    };
  }, [worklistVersion]);
  if (!open) return null;
  return (
    <span className="badge nav-count" data-testid="callbacks-count" aria-label={`${open} waiting`}>
      {open}
    </span>
  );
}

export default function Layout() {
  const principal = usePrincipal();
  const { logout } = useSession();
  const links = [
    { to: "/calls", label: "Call log", show: can.readCallLog(principal.role) },
    { to: "/callbacks", label: "Call-backs", show: true, count: true },
    { to: "/reports", label: "Reports", show: can.readReports(principal.role) },
    { to: "/clients", label: "Clients", show: true },
    { to: "/booking", label: "Booking", show: true },
    { to: "/settings", label: "Settings", show: can.manageSettings(principal.role) },
  ].filter((l) => l.show);
  return (
    <DirectoryProvider>
      <NotifyProvider>
        <a className="skip-link" href="#main">
          Skip to content
        </a>
        <header className="topbar">
          <div className="brand">Switchboard</div>
          <nav aria-label="Main">
            <ul className="nav">
              {links.map((l) => (
                <li key={l.to}>
                  <NavLink to={l.to} className={({ isActive }) => (isActive ? "active" : undefined)}>
                    {l.label}
                    {"count" in l && l.count && <CallbacksCount />}
                  </NavLink>
                </li>
              ))}
            </ul>
          </nav>
          <div className="whoami">
            <ConnectionBadge />
            <span className="who" data-testid="whoami">
              <strong>{principal.name}</strong>
              <span className="muted">
                {roleLabel[principal.role] ?? principal.role}
                {principal.extension ? ` · ext. ${principal.extension}` : ""}
              </span>
            </span>
            <button type="button" onClick={() => void logout()}>
              Log out
            </button>
          </div>
        </header>
        <main id="main" tabIndex={-1}>
          <Outlet />
        </main>
        <CurrentCallPanel />
        <PopupOverlay />
      </NotifyProvider>
    </DirectoryProvider>
  );
}
