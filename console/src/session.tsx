/** The logged-in operator and the directory every page needs (clinics, services, people). */
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import {
  auth,
  directory,
  onUnauthorized,
  type CallCenter,
  type CancellationReason,
  type Clinic,
  type Operator,
  type Practitioner,
  type Principal,
  type Role,
  type Service,
} from "./api";
import { applyLanguageFor } from "./i18n";

/** The operator now logged in (or nobody), with the console in their language. */
function signedIn(principal: Principal | null): Principal | null {
  applyLanguageFor(principal?.operator_id ?? null);
  return principal;
}

interface SessionValue {
  principal: Principal | null;
  checking: boolean;
  login: (username: string, password: string) => Promise<void>;
  /** Sets a new password (the current or temporary one proves who it is) and signs in. */
  changePassword: (username: string, currentPassword: string, newPassword: string) => Promise<void>;
  logout: () => Promise<void>;
}

const SessionContext = createContext<SessionValue | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [principal, setPrincipal] = useState<Principal | null>(null);
  const [checking, setChecking] = useState(true);

  useEffect(() => {
    auth
      .me()
      .then((p) => setPrincipal(signedIn(p)))
      .catch(() => setPrincipal(signedIn(null)))
      .finally(() => setChecking(false));
    return onUnauthorized(() => setPrincipal(signedIn(null)));
  }, []);

  const login = useCallback(async (username: string, password: string) => {
    const result = await auth.login(username, password);
    setPrincipal(signedIn(result.operator));
  }, []);

  const changePassword = useCallback(async (username: string, currentPassword: string, newPassword: string) => {
    const result = await auth.changePassword(username, currentPassword, newPassword);
    setPrincipal(signedIn(result.operator));
  }, []);

  const logout = useCallback(async () => {
    try {
      await auth.logout();
    } finally {
      setPrincipal(signedIn(null));
    }
  }, []);

  const value = useMemo(
    () => ({ principal, checking, login, changePassword, logout }),
    [principal, checking, login, changePassword, logout],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error("useSession outside SessionProvider");
  return value;
}

/** The logged-in operator (pages under the layout only render when there is one). */
export function usePrincipal(): Principal {
  const { principal } = useSession();
  if (!principal) throw new Error("not logged in");
  return principal;
}

/** What each role may do in the console (the services enforce the same rules). */
export const can = {
  readCallLog: (role: Role) => ["admin", "manager", "call_centre", "clinic_staff"].includes(role),
  readReports: (role: Role) => ["admin", "manager"].includes(role),
  book: (role: Role) => ["admin", "call_centre", "clinic_staff"].includes(role),
  editClients: (role: Role) => ["admin", "call_centre", "clinic_staff"].includes(role),
  manageSettings: (role: Role) => role === "admin",
  /** Create and change clinics, practitioners, services, call centers and operators. */
  editDirectory: (role: Role) => role === "admin",
  /** Read the directory's Settings tabs (managers read them, without edit controls). */
  readDirectory: (role: Role) => ["admin", "manager"].includes(role),
  /** Practitioners' absences and clinics' closed days (their reasons may be personal). */
  manageTimeOff: (role: Role) => role === "admin",
  /** The appointments time off leaves to be rescheduled. */
  readToReschedule: (role: Role) => ["admin", "call_centre"].includes(role),
  takeCalls: (role: Role) => role !== "manager",
  workCallbacks: (role: Role) => ["admin", "call_centre", "clinic_staff"].includes(role),
};

export interface Directory {
  clinics: Clinic[];
  services: Service[];
  practitioners: Practitioner[];
  operators: Operator[];
  callCenters: CallCenter[];
  reasons: CancellationReason[];
  clinic: (id: string | null | undefined) => Clinic | undefined;
  operatorName: (id: string | null | undefined) => string;
  practitionerName: (id: string | null | undefined) => string;
  reload: () => void;
  loaded: boolean;
  error: string | null;
}

const DirectoryContext = createContext<Directory | null>(null);

export function DirectoryProvider({ children }: { children: ReactNode }) {
  const [data, setData] = useState({
    clinics: [] as Clinic[],
    services: [] as Service[],
    practitioners: [] as Practitioner[],
    operators: [] as Operator[],
    callCenters: [] as CallCenter[],
    reasons: [] as CancellationReason[],
  });
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [version, setVersion] = useState(0);

  useEffect(() => {
    let live = true;
    Promise.all([
      directory.clinics(),
      directory.services(),
      directory.practitioners(),
      directory.operators(),
      directory.callCenters(),
      directory.reasons(),
    ])
      .then(([clinics, services, practitioners, operators, callCenters, reasons]) => {
        if (!live) return;
        setData({ clinics, services, practitioners, operators, callCenters, reasons });
        setError(null);
        setLoaded(true);
      })
      .catch((e: Error) => live && setError(e.message));
    return () => {
      live = false;
    };
  }, [version]);

  const value = useMemo<Directory>(() => {
    const clinicById = new Map(data.clinics.map((c) => [c.clinic_id, c]));
    const operatorById = new Map(data.operators.map((o) => [o.operator_id, o]));
    const practitionerById = new Map(data.practitioners.map((p) => [p.practitioner_id, p]));
    return {
      ...data,
      clinic: (id) => (id ? clinicById.get(id) : undefined),
      operatorName: (id) => (id ? (operatorById.get(id)?.name ?? id) : ""),
      practitionerName: (id) => (id ? (practitionerById.get(id)?.name ?? id) : ""),
      reload: () => setVersion((v) => v + 1),
      loaded,
      error,
    };
  }, [data, loaded, error]);
  return <DirectoryContext.Provider value={value}>{children}</DirectoryContext.Provider>;
}

export function useDirectory(): Directory {
  const value = useContext(DirectoryContext);
  if (!value) throw new Error("useDirectory outside DirectoryProvider");
  return value;
}
