/** Search clients by name, phone or email and pick one. */
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { clients, type Client } from "../api";
import { phone } from "../format";

export default function ClientPicker({
  label,
  onPick,
  initialQuery = "",
  exclude = [],
}: {
  label: string;
  onPick: (client: Client) => void;
  initialQuery?: string;
  exclude?: string[];
}) {
  const [query, setQuery] = useState(initialQuery);
  const [results, setResults] = useState<Client[]>([]);
  const [error, setError] = useState<string | null>(null);
  const { t } = useTranslation();

  useEffect(() => {
    if (query.trim().length < 2) {
      setResults([]);
      return;
    }
    let live = true;
    const t = window.setTimeout(() => {
      clients
        .search(query)
        .then((items) => live && (setResults(items), setError(null)))
        .catch((e: Error) => live && setError(e.message));
    }, 250);
    return () => {
      live = false;
      window.clearTimeout(t);
    };
  }, [query]);

  const shown = results.filter((c) => !exclude.includes(c.client_id));
  return (
    <div className="client-picker">
      <label>
        {label}
        <input
          type="search"
          value={query}
          placeholder={t("clientPicker.placeholder")}
          onChange={(e) => setQuery(e.target.value)}
        />
      </label>
      {error && <p className="error">{error}</p>}
      {shown.length > 0 && (
        <ul className="picker-results" aria-label={t("clientPicker.matches")}>
          {shown.map((c) => (
            <li key={c.client_id}>
              <button type="button" className="picker-item" onClick={() => onPick(c)}>
                <strong>{c.display_name}</strong>
                <span className="muted">{[phone(c.mobile), c.email].filter(Boolean).join(" · ")}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
      {query.trim().length >= 2 && shown.length === 0 && !error && <p className="muted small">{t("clientPicker.none")}</p>}
    </div>
  );
}
