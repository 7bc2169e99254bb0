import type { ReactElement } from "react";
import { useTranslation } from "react-i18next";
import { Navigate, Route, Routes, useLocation } from "react-router-dom";
import Layout from "./components/Layout";
import BookingPage from "./pages/Booking";
import CallLogPage from "./pages/CallLog";
import ClientsPage, { ClientProfilePage, MergeClientsPage, NewClientPage } from "./pages/Clients";
import LeadPage from "./pages/Lead";
import LoginPage from "./pages/Login";
import ReportsPage from "./pages/Reports";
import WorklistPage from "./pages/Worklist";
import SettingsPage from "./pages/Settings";
import { can, useSession } from "./session";
import type { Role } from "./api";

function homeFor(role: Role): string {
  return role === "manager" ? "/reports" : "/calls";
}

function Guard({ allow, children }: { allow: (role: Role) => boolean; children: ReactElement }) {
  const { principal } = useSession();
  const { t } = useTranslation();
  if (!principal) return null;
  if (!allow(principal.role)) {
    return (
      <div className="page">
        <h1>{t("app.notAvailable")}</h1>
        <p>{t("app.roleCannotOpen", { role: t(`role.${principal.role}`) })}</p>
      </div>
    );
  }
  return children;
}

export default function App() {
  const { principal, checking } = useSession();
  const location = useLocation();
  const { t } = useTranslation();
  if (checking) return <div className="splash">{t("common.loading")}</div>;
  if (!principal) {
    if (location.pathname !== "/login") {
      const next = location.pathname + location.search;
      return <Navigate to={`/login?next=${encodeURIComponent(next)}`} replace />;
    }
    return <LoginPage />;
  }
  return (
    <Routes>
      <Route path="/login" element={<Navigate to={homeFor(principal.role)} replace />} />
      <Route element={<Layout />}>
        <Route index element={<Navigate to={homeFor(principal.role)} replace />} />
        <Route path="/calls" element={<Guard allow={can.readCallLog}><CallLogPage /></Guard>} />
        <Route path="/callbacks" element={<WorklistPage />} />
        <Route path="/reports" element={<Guard allow={can.readReports}><ReportsPage /></Guard>} />
        <Route path="/clients" element={<ClientsPage />} />
        <Route path="/clients/new" element={<Guard allow={can.editClients}><NewClientPage /></Guard>} />
        <Route path="/clients/merge" element={<Guard allow={can.editClients}><MergeClientsPage /></Guard>} />
        <Route path="/clients/:clientId" element={<ClientProfilePage />} />
        <Route path="/leads/:contactId" element={<LeadPage />} />
        <Route path="/booking" element={<BookingPage />} />
        <Route path="/settings" element={<Guard allow={can.readDirectory}><SettingsPage /></Guard>} />
        <Route path="*" element={<div className="page"><h1>{t("app.pageNotFound")}</h1></div>} />
      </Route>
    </Routes>
  );
}
