import type { ReactElement } from "react";
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
  if (!principal) return null;
  if (!allow(principal.role)) {
    return (
      <div className="page">
        <h1>Not available</h1>
        <p>Your role ({principal.role}) cannot open this page.</p>
      </div>
    );
  }
  return children;
}

export default function App() {
  const { principal, checking } = useSession();
  const location = useLocation();
  if (checking) return <div className="splash">Loading…</div>;
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
        <Route path="/settings" element={<Guard allow={can.manageSettings}><SettingsPage /></Guard>} />
        <Route path="*" element={<div className="page"><h1>Page not found</h1></div>} />
      </Route>
    </Routes>
  );
}
