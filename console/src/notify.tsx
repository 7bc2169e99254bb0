/** The live notify session: one WebSocket per tab, reconnecting, holding the open pop-ups. */
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import {
  dismissWrapUpMessage,
  notifySocketUrl,
  readNotifyMessage,
  takeCallMessage,
  type CurrentCall,
  type Popup,
  type PopupClosed,
} from "./api";
import { useSession } from "./session";

export type ConnectionState = "connecting" | "online" | "offline";

export interface OpenPopup extends Popup {
  /** Set once notify closed it: shown briefly ("Answered by …"), then removed. */
  closed?: PopupClosed;
  taking?: boolean;
  receivedAt: number;
}

/** The operator's current call; `finished` once its result was set (shown until closed). */
export interface ShownCurrentCall extends CurrentCall {
  finished?: boolean;
}

interface NotifyValue {
  state: ConnectionState;
  popups: OpenPopup[];
  take: (callId: string) => void;
  dismiss: (callId: string) => void;
  /** Grows whenever the call-back worklist may have changed: read it again when it does. */
  worklistVersion: number;
  current: ShownCurrentCall | null;
  /** Ends the wrap-up without a result, in every tab (notify confirms with a clear). */
  dismissWrapUp: (callId: string) => void;
  /** Hides a finished current call in this tab. */
  closeCurrent: () => void;
}

const NotifyContext = createContext<NotifyValue | null>(null);

/** How long a closed pop-up stays to say who handled the call. */
const CLOSED_LINGER_MS = 2500;

/** notify's close codes for a session that ended and for a deactivated operator. */
const CLOSE_UNAUTHORIZED = 4401;
const CLOSE_FORBIDDEN = 4403;

export function NotifyProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<ConnectionState>("connecting");
  const [popups, setPopups] = useState<OpenPopup[]>([]);
  const [worklistVersion, setWorklistVersion] = useState(0);
  const [current, setCurrent] = useState<ShownCurrentCall | null>(null);
  const socketRef = useRef<WebSocket | null>(null);
  const { logout } = useSession();
  const logoutRef = useRef(logout);
  logoutRef.current = logout;

  useEffect(() => {
    let stopped = false;
    let retry = 0;
    let timer: number | undefined;

    const connect = () => {
      setState("connecting");
      const socket = new WebSocket(notifySocketUrl());
      socketRef.current = socket;
      // Whether this connection's replay brought a current call (none: it is over).
      let replayedCurrent = false;
      socket.onopen = () => {
        retry = 0;
        setState("online");
        // Changes made while the socket was down were not pushed: read the worklist again.
        setWorklistVersion((v) => v + 1);
      };
      socket.onmessage = (event) => {
        const message = readNotifyMessage(String(event.data));
        if (message.type === "popup") {
          const popup = message.popup;
          setPopups((current) => {
            const existing = current.find((p) => p.call_id === popup.call_id);
            if (existing) {
              // A later message (late identification) updates the open pop-up in place.
              return current.map((p) =>
                p.call_id === popup.call_id ? { ...p, ...popup, receivedAt: p.receivedAt, closed: p.closed } : p,
              );
            }
            return [...current, { ...popup, receivedAt: Date.now() }];
          });
        } else if (message.type === "closed") {
          const closed = message.closed;
          setPopups((current) => current.map((p) => (p.call_id === closed.call_id ? { ...p, closed } : p)));
          window.setTimeout(
            () => setPopups((current) => current.filter((p) => p.call_id !== closed.call_id || !p.closed)),
            CLOSED_LINGER_MS,
          );
        } else if (message.type === "worklist") {
          setWorklistVersion((v) => v + 1);
        } else if (message.type === "current") {
          replayedCurrent = true;
          setCurrent(message.current);
        } else if (message.type === "current_cleared") {
          const { call_id: callId, reason } = message;
          setCurrent((c) => (c?.call_id !== callId ? c : reason === "result_set" ? { ...c, finished: true } : null));
        } else if (
          message.raw &&
          typeof message.raw === "object" &&
          (message.raw as { type?: string }).type === "resumed"
        ) {
          if (!replayedCurrent) setCurrent((c) => (c?.finished ? c : null));
        } else if (
          message.raw &&
          typeof message.raw === "object" &&
          (message.raw as { type?: string }).type === "ping"
        ) {
          socket.send(JSON.stringify({ type: "pong" }));
        }
      };
      socket.onclose = (event) => {
        socketRef.current = null;
        if (stopped) return;
        // The session ended or the operator was deactivated: back to the login page at
        // once, rather than retrying a socket that will be refused.
        if (event.code === CLOSE_UNAUTHORIZED || event.code === CLOSE_FORBIDDEN) {
          stopped = true;
          void logoutRef.current();
          return;
        }
        setState("offline");
        // Reconnect with capped backoff; notify resends the pop-ups still open on resume.
        const delay = Math.min(10_000, 500 * 2 ** retry++);
        timer = window.setTimeout(connect, delay);
      };
    };
    connect();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
      socketRef.current?.close();
    };
  }, []);

  const take = useCallback((callId: string) => {
    socketRef.current?.send(takeCallMessage(callId));
    setPopups((current) => current.map((p) => (p.call_id === callId ? { ...p, taking: true } : p)));
  }, []);

  const dismiss = useCallback((callId: string) => {
    setPopups((current) => current.filter((p) => p.call_id !== callId));
  }, []);

  const dismissWrapUp = useCallback((callId: string) => {
    socketRef.current?.send(dismissWrapUpMessage(callId));
  }, []);

  const closeCurrent = useCallback(() => setCurrent(null), []);

  const value = useMemo(
    () => ({ state, popups, take, dismiss, worklistVersion, current, dismissWrapUp, closeCurrent }),
    [state, popups, take, dismiss, worklistVersion, current, dismissWrapUp, closeCurrent],
  );
  return <NotifyContext.Provider value={value}>{children}</NotifyContext.Provider>;
}

export function useNotify(): NotifyValue {
  const value = useContext(NotifyContext);
  if (!value) throw new Error("useNotify outside NotifyProvider");
  return value;
}
