/** Booking: the form (service, method, location, practitioner or anyone, slots, attendees,
 * notes, questions) beside the day calendar of the clinic, where other call centers'
 * appointments are greyed out and cannot be changed. */
import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { useSearchParams } from "react-router-dom";
import {
  ApiError,
  appointments,
  clients,
  slotHolder,
  type Appointment,
  type Availability,
  type Client,
  type MeetingMethod,
  type NewClient,
  type Question,
} from "../api";
import ToRescheduleList from "../components/ToRescheduleList";
import ClientPicker from "../components/ClientPicker";
import {
  addDays,
  day as dayLabel,
  phone as formatPhone,
  time,
  todayIn,
  languageName,
  zoneLabel,
} from "../format";
import { can, useDirectory, usePrincipal } from "../session";
import { CancelDialog, NotificationsDialog, RescheduleDialog } from "../components/AppointmentDialogs";
import { type ChosenSlot, DayCalendar, SlotGrid } from "../components/DayCalendar";

const emptyNewClient = (): NewClient => ({ first_name: "", last_name: "", mobile: "", email: "" });

/** An answer in the shape its question asks for (booking checks the same). */
function AnswerInput({ question, value, onChange }: { question: Question; value: string; onChange: (value: string) => void }) {
  const { t } = useTranslation();
  if (question.answer_type === "yes_no") {
    return (
      <select required={question.required} value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">—</option>
        <option value="yes">{t("common.yes")}</option>
        <option value="no">{t("common.no")}</option>
      </select>
    );
  }
  const shape =
    question.answer_type === "date"
      ? { type: "date" }
      : question.answer_type === "number"
        ? { inputMode: "decimal" as const, pattern: "-?[0-9]+([.,][0-9]+)?" }
        : {};
  return <input required={question.required} value={value} onChange={(e) => onChange(e.target.value)} {...shape} />;
}

export default function BookingPage() {
  const principal = usePrincipal();
  const dir = useDirectory();
  const { t } = useTranslation();
  const [params, setParams] = useSearchParams();
  const mayBook = can.book(principal.role);
  const callId = params.get("call_id");
  const touchId = params.get("touch_id");

  // The operator's choice, else the directory's first entry: derived rather than set by an
  // effect, so a choice made the instant the options appear is never overwritten.
  const [clinicChoice, setClinicId] = useState(params.get("clinic_id") ?? "");
  const [serviceChoice, setServiceId] = useState("");
  const clinicId = clinicChoice || dir.clinics[0]?.clinic_id || "";
  const serviceId = serviceChoice || dir.services[0]?.service_id || "";
  const [method, setMethod] = useState<MeetingMethod>("in_person");
  const [practitionerId, setPractitionerId] = useState(""); // "" = anyone available
  const [language, setLanguage] = useState("");
  const [dateChoice, setDate] = useState(params.get("date") ?? "");
  const [availability, setAvailability] = useState<Availability | null>(null);
  const [chosen, setChosen] = useState<ChosenSlot | null>(null);
  const [client, setClient] = useState<Client | null>(null);
  const [newClient, setNewClient] = useState<NewClient | null>(null);
  const [attendees, setAttendees] = useState<Client[]>([]);
  const [attendeeNotes, setAttendeeNotes] = useState("");
  const [privateNotes, setPrivateNotes] = useState("");
  const [answers, setAnswers] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<{ kind: "ok" | "error"; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const [calendar, setCalendar] = useState<Appointment[]>([]);
  const [calendarVersion, setCalendarVersion] = useState(0);
  const [rescheduling, setRescheduling] = useState<Appointment | null>(null);
  const [cancelling, setCancelling] = useState<Appointment | null>(null);
  const [notifying, setNotifying] = useState<Appointment | null>(null);

  const clinic = dir.clinic(clinicId);
  const tz = clinic?.time_zone ?? "UTC";
  const date = dateChoice || (clinic ? todayIn(clinic.time_zone) : "");
  const messageRef = useRef<HTMLParagraphElement>(null);
  useEffect(() => messageRef.current?.scrollIntoView({ block: "nearest" }), [message]);
  const service = dir.services.find((s) => s.service_id === serviceId);

  // A link (the to-reschedule list's) may name the clinic, the day and an appointment to move.
  const rescheduleId = params.get("reschedule");
  useEffect(() => {
    const clinicParam = params.get("clinic_id");
    const dateParam = params.get("date");
    if (clinicParam) setClinicId(clinicParam);
    if (dateParam) setDate(dateParam);
  }, [params]);
  useEffect(() => {
    if (!rescheduleId) return;
    appointments
      .get(rescheduleId)
      .then(setRescheduling)
      .catch((e: Error) => setMessage({ kind: "error", text: e.message }));
  }, [rescheduleId]);

  // Closed, a dialog the link opened is forgotten, so a reload does not open it again.
  const closeReschedule = () => {
    setRescheduling(null);
    if (rescheduleId) {
      const next = new URLSearchParams(params);
      next.delete("reschedule");
      setParams(next, { replace: true });
    }
  };

  // A pop-up's clinic/client come from the URL.
  useEffect(() => {
    const clientId = params.get("client_id");
    const phoneParam = params.get("phone");
    if (clientId) {
      clients
        .get(clientId)
        .then((c) => setClient(c))
        .catch((e: Error) => setMessage({ kind: "error", text: e.message }));
    } else if (phoneParam) {
      clients
        .search(phoneParam)
        .then((found) => {
          if (found.length === 1) setClient(found[0]);
          else setNewClient({ ...emptyNewClient(), mobile: phoneParam });
        })
        .catch(() => setNewClient({ ...emptyNewClient(), mobile: phoneParam }));
    }
  }, [params]);
  useEffect(() => {
    if (service && !service.meeting_methods.includes(method)) setMethod(service.meeting_methods[0]);
    setAnswers({});
    // Only when the service changes: its methods and questions decide the rest.
  }, [service]);

  const practitionersHere = useMemo(
    () =>
      dir.practitioners.filter(
        (p) => p.active && p.clinic_ids.includes(clinicId) && (!serviceId || p.service_ids.includes(serviceId)),
      ),
    [dir.practitioners, clinicId, serviceId],
  );
  const languages = useMemo(
    () => Array.from(new Set(practitionersHere.flatMap((p) => p.languages))).sort(),
    [practitionersHere],
  );
  useEffect(() => {
    if (practitionerId && !practitionersHere.some((p) => p.practitioner_id === practitionerId)) setPractitionerId("");
  }, [practitionersHere, practitionerId]);

  // Only the latest request may set the slots: an answer for a day the operator has
  // already left must not overwrite the one on screen, and until the answer for the current
  // choices arrives the times held (another day's, another practitioner's) are not offered.
  const slotRequest = useRef(0);
  const slotChoices = [clinicId, serviceId, date, practitionerId, practitionerId ? "" : language].join("|");
  const [answeredChoices, setAnsweredChoices] = useState("");
  const loadSlots = useCallback(() => {
    if (!clinicId || !serviceId || !date) return;
    setChosen(null);
    const request = ++slotRequest.current;
    const current = () => request === slotRequest.current;
    appointments
      .availability({
        clinic_id: clinicId,
        service_id: serviceId,
        date,
        practitioner_id: practitionerId || undefined,
        language: !practitionerId && language ? language : undefined,
      })
      .then((a) => {
        if (!current()) return;
        setAvailability(a);
        setAnsweredChoices(slotChoices);
      })
      .catch((e: Error) => {
        if (!current()) return;
        setAvailability(null);
        setMessage({ kind: "error", text: e.message });
      });
  }, [clinicId, serviceId, date, practitionerId, language, slotChoices]);
  useEffect(loadSlots, [loadSlots]);

  useEffect(() => {
    if (!clinicId || !date) return;
    let live = true;
    appointments
      .day({ date, clinic_id: clinicId })
      .then((items) => live && setCalendar(items))
      .catch((e: Error) => live && setMessage({ kind: "error", text: e.message }));
    return () => {
      live = false;
    };
  }, [clinicId, date, calendarVersion]);

  const calendarPractitioners = useMemo(() => {
    const here = dir.practitioners.filter((p) => p.clinic_ids.includes(clinicId));
    const shown = practitionerId ? here.filter((p) => p.practitioner_id === practitionerId) : here;
    return shown.map((p) => ({ id: p.practitioner_id, name: p.name }));
  }, [dir.practitioners, clinicId, practitionerId]);

  async function book(event: FormEvent) {
    event.preventDefault();
    setMessage(null);
    if (!chosen) {
      setMessage({ kind: "error", text: t("booking.chooseTime") });
      return;
    }
    if (!client && !newClient) {
      setMessage({ kind: "error", text: t("booking.chooseClient") });
      return;
    }
    setBusy(true);
    try {
      const appt = await appointments.book({
        service_id: serviceId,
        clinic_id: clinicId,
        meeting_method: method,
        starts_at: chosen.starts_at,
        practitioner_id: chosen.practitioner_id,
        language: !chosen.practitioner_id && language ? language : null,
        client_id: client?.client_id ?? null,
        new_client: client ? null : {
          ...newClient!,
          email: newClient!.email || null,
          mobile: newClient!.mobile || null,
        },
        attendees: attendees.map((a) => ({ client_id: a.client_id })),
        attendee_notes: attendeeNotes,
        private_notes: privateNotes,
        answers,
        call_id: callId,
        touch_id: touchId,
      });
      setMessage({
        kind: "ok",
        text: t("booking.booked", {
          client: appt.client_name,
          service: appt.service_name,
          practitioner: appt.practitioner_name,
          day: dayLabel(appt.starts_at, appt.time_zone),
          time: time(appt.starts_at, appt.time_zone),
          zone: zoneLabel(appt.time_zone),
        }),
      });
      setAttendeeNotes("");
      setPrivateNotes("");
      setAnswers({});
      setAttendees([]);
      loadSlots();
      setCalendarVersion((v) => v + 1);
    } catch (e) {
      const holder = slotHolder(e);
      if (holder) {
        setMessage({
          kind: "error",
          text: t("booking.noLongerFree", { holder }),
        });
        loadSlots();
        setCalendarVersion((v) => v + 1);
      } else {
        setMessage({ kind: "error", text: e instanceof ApiError ? e.message : String(e) });
      }
    } finally {
      setBusy(false);
    }
  }

  const afterChange = (text: string) => {
    setRescheduling(null);
    setCancelling(null);
    setMessage({ kind: "ok", text });
    loadSlots();
    setCalendarVersion((v) => v + 1);
  };

  return (
    <div className="page booking">
      <div className="page-head">
        <h1>{t("booking.title")}</h1>
        {callId && <span className="badge badge-call">{t("booking.duringCall", { callId })}</span>}
      </div>
      <div className="booking-grid">
        <form className="card booking-form" onSubmit={book} aria-label={t("booking.newAppointment")}>
          <fieldset disabled={!mayBook}>
            <legend className="sr-only">{t("booking.appointment")}</legend>
            <div className="form-row">
              <label>
                {t("booking.service")}
                <select value={serviceId} onChange={(e) => setServiceId(e.target.value)}>
                  {dir.services
                    .filter((s) => s.active)
                    .map((s) => (
                      <option key={s.service_id} value={s.service_id}>
                        {s.name} ({t("booking.minutes", { count: s.duration_minutes })})
                      </option>
                    ))}
                </select>
              </label>
              <label>
                {t("booking.meetingMethod")}
                <select value={method} onChange={(e) => setMethod(e.target.value as MeetingMethod)}>
                  {(service?.meeting_methods ?? []).map((m) => (
                    <option key={m} value={m}>
                      {t(`meetingMethod.${m}`)}
                    </option>
                  ))}
                </select>
              </label>
            </div>
            <div className="form-row">
              <label>
                {t("booking.location")}
                <select value={clinicId} onChange={(e) => setClinicId(e.target.value)}>
                  {dir.clinics
                    .filter((c) => c.active)
                    .map((c) => (
                      <option key={c.clinic_id} value={c.clinic_id}>
                        {c.name}
                        {c.city ? `, ${c.city}` : ""}
                      </option>
                    ))}
                </select>
              </label>
              <label>
                {t("booking.practitioner")}
                <select value={practitionerId} onChange={(e) => setPractitionerId(e.target.value)}>
                  <option value="">{t("booking.anyone")}</option>
                  {practitionersHere.map((p) => (
                    <option key={p.practitioner_id} value={p.practitioner_id}>
                      {p.name}
                    </option>
                  ))}
                </select>
              </label>
              {!practitionerId && (
                <label>
                  {t("booking.language")}
                  <select value={language} onChange={(e) => setLanguage(e.target.value)}>
                    <option value="">{t("common.any")}</option>
                    {languages.map((l) => (
                      <option key={l} value={l}>
                        {languageName(l)}
                      </option>
                    ))}
                  </select>
                </label>
              )}
            </div>
            <div className="form-row day-row">
              <button type="button" aria-label={t("booking.previousDay")} onClick={() => setDate(addDays(date, -1))}>
                ‹
              </button>
              <label className="inline">
                {t("booking.day")}
                <input type="date" value={date} onChange={(e) => setDate(e.target.value)} />
              </label>
              <button type="button" aria-label={t("booking.nextDay")} onClick={() => setDate(addDays(date, 1))}>
                ›
              </button>
              <span className="muted small">
                {date && clinic ? `${dayLabel(date + "T12:00:00Z", "UTC")} · ${t("booking.timesIn", { zone: zoneLabel(tz) })}` : ""}
              </span>
            </div>
            <h2 className="h3">{t("booking.freeTimes")}</h2>
            <SlotGrid
              availability={availability}
              date={date}
              loading={answeredChoices !== slotChoices}
              anyone={!practitionerId}
              chosen={chosen}
              onChoose={setChosen}
              practitionerName={dir.practitionerName}
            />
            <h2 className="h3">{t("booking.client")}</h2>
            {client ? (
              <div className="chosen-client" data-testid="chosen-client">
                <strong>{client.display_name}</strong>
                <span className="muted">{[formatPhone(client.mobile), client.email].filter(Boolean).join(" · ")}</span>
                <button type="button" className="link" onClick={() => setClient(null)}>
                  {t("booking.change")}
                </button>
              </div>
            ) : newClient ? (
              <div className="new-client">
                <div className="form-row">
                  <label>
                    {t("client.firstName")} *
                    <input
                      required
                      value={newClient.first_name}
                      onChange={(e) => setNewClient({ ...newClient, first_name: e.target.value })}
                    />
                  </label>
                  <label>
                    {t("client.lastName")} *
                    <input
                      required
                      value={newClient.last_name}
                      onChange={(e) => setNewClient({ ...newClient, last_name: e.target.value })}
                    />
                  </label>
                </div>
                <div className="form-row">
                  <label>
                    {t("client.mobile")}
                    <input
                      type="tel"
                      value={newClient.mobile ?? ""}
                      onChange={(e) => setNewClient({ ...newClient, mobile: e.target.value })}
                    />
                  </label>
                  <label>
                    {t("client.email")}
                    <input
                      type="email"
                      value={newClient.email ?? ""}
                      onChange={(e) => setNewClient({ ...newClient, email: e.target.value })}
                    />
                  </label>
                </div>
                <button type="button" className="link" onClick={() => setNewClient(null)}>
                  {t("booking.searchInstead")}
                </button>
              </div>
            ) : (
              <>
                <ClientPicker label={t("booking.findClient")} onPick={setClient} />
                <button type="button" className="link" onClick={() => setNewClient(emptyNewClient())}>
                  + {t("clients.newClient")}
                </button>
              </>
            )}
            <h2 className="h3">{t("booking.attendees")}</h2>
            <ul className="chips" aria-label={t("booking.attendees")}>
              {attendees.map((a) => (
                <li className="chip" key={a.client_id}>
                  {a.display_name}
                  <button
                    type="button"
                    aria-label={t("common.remove", { name: a.display_name })}
                    onClick={() => setAttendees(attendees.filter((x) => x.client_id !== a.client_id))}
                  >
                    ×
                  </button>
                </li>
              ))}
            </ul>
            <ClientPicker
              label={t("booking.addAttendee")}
              exclude={[client?.client_id ?? "", ...attendees.map((a) => a.client_id)]}
              onPick={(c) => setAttendees([...attendees, c])}
            />
            {service && service.questions.length > 0 && (
              <>
                <h2 className="h3">{t("booking.questions")}</h2>
                {service.questions.map((q) => (
                  <label key={q.question_id}>
                    {q.text}
                    {q.required ? " *" : ""}
                    <AnswerInput
                      question={q}
                      value={answers[q.question_id] ?? ""}
                      onChange={(value) => setAnswers({ ...answers, [q.question_id]: value })}
                    />
                  </label>
                ))}
              </>
            )}
            <label>
              {t("booking.attendeeNotes")}
              <textarea rows={2} value={attendeeNotes} onChange={(e) => setAttendeeNotes(e.target.value)} />
            </label>
            <label>
              {t("booking.privateNotes")}
              <textarea rows={2} value={privateNotes} onChange={(e) => setPrivateNotes(e.target.value)} />
            </label>
            {message && (
              <p
                ref={messageRef}
                className={message.kind === "ok" ? "notice" : "error"}
                role={message.kind === "ok" ? "status" : "alert"}
                data-testid="booking-message"
              >
                {message.text}
              </p>
            )}
            <div className="form-actions">
              <button type="submit" className="primary" disabled={busy || !chosen}>
                {busy ? t("booking.booking") : chosen ? t("booking.bookAt", { time: time(chosen.starts_at, tz) }) : t("booking.book")}
              </button>
            </div>
          </fieldset>
          {!mayBook && <p className="muted">{t("booking.viewOnly")}</p>}
        </form>
        <section className="card calendar-card" aria-labelledby="calendar-title">
          <div className="page-head">
            <h2 id="calendar-title">
              {clinic?.name ?? t("booking.clinic")} · {date ? dayLabel(date + "T12:00:00Z", "UTC") : ""}
            </h2>
            <span className="legend">
              <span className="legend-own">{t("booking.legendOwn")}</span>
              <span className="legend-foreign">{t("booking.legendForeign")}</span>
            </span>
          </div>
          <DayCalendar
            items={calendar}
            date={date}
            timeZone={tz}
            practitioners={calendarPractitioners}
            onReschedule={setRescheduling}
            onCancel={setCancelling}
            onNotifications={setNotifying}
          />
        </section>
      </div>
      {can.readToReschedule(principal.role) && (
        <div className="card">
          <ToRescheduleList version={calendarVersion} />
        </div>
      )}
      <RescheduleDialog
        appointment={rescheduling}
        onClose={closeReschedule}
        onDone={(text) => {
          afterChange(text);
          closeReschedule();
        }}
      />
      <CancelDialog appointment={cancelling} onClose={() => setCancelling(null)} onDone={afterChange} />
      <NotificationsDialog appointment={notifying} onClose={() => setNotifying(null)} />
    </div>
  );
}
