//! Notifications to people: a rule routes event types to a channel the back office sets,
//! e-mail over SMTP to recipients (each in a language) or a chat-style webhook (a signed
//! `POST` of `{"subject", "text", "event"}`, the shape Slack-like incoming webhooks take),
//! with a subject and body template per language (MiniJinja; the event is the context:
//! `{{ type }}`, `{{ aggregate.id }}`, `{{ data.total.amount }}`). A rule is a subscription
//! with `notify` set: it is delivered, retried, logged and kept durable as webhooks are.

use std::collections::BTreeMap;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};

/// Where a rule's notifications go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Webhook,
}

/// An e-mail recipient and the language its messages are written in (the rule's default
/// language when none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Recipient {
    /// An e-mail address, at most 254 characters.
    #[schema(max_length = 254, format = "email")]
    pub address: String,
    #[schema(max_length = 35)]
    pub language: Option<String>,
}

/// A message's subject and body, as MiniJinja templates over the event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Template {
    /// Not blank.
    #[schema(min_length = 1, max_length = 500)]
    pub subject: String,
    #[schema(max_length = 20000)]
    pub body: String,
}

/// What makes a subscription a notification rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notify {
    pub channel: Channel,
    /// E-mail recipients (none for a webhook channel).
    pub recipients: Vec<Recipient>,
    /// Templates by language.
    pub templates: BTreeMap<String, Template>,
    /// The language used where a recipient's has no template.
    pub default_language: String,
}

/// The longest subject and body a template may have, in characters.
pub const SUBJECT_CHARS_MAX: usize = 500;
pub const BODY_CHARS_MAX: usize = 20_000;

/// The most a template may compute (MiniJinja's fuel: about one unit per instruction) and
/// write, so a rule's template can neither spin nor fill memory on the delivery thread.
const RENDER_FUEL: u64 = 100_000;
const RENDER_BYTES_MAX: usize = 64 * 1024;

fn environment() -> minijinja::Environment<'static> {
    let mut environment = minijinja::Environment::new();
    // A message is text, never HTML: nothing is escaped.
    environment.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    // A field an event type lacks renders empty, as does anything under it.
    environment.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
    environment.set_fuel(Some(RENDER_FUEL));
    environment
}

/// Checks a template's syntax and length: the refusal names the language and the field.
pub fn check(language: &str, template: &Template) -> Result<(), String> {
    let environment = environment();
    for (field, text, max) in
        [("subject", &template.subject, SUBJECT_CHARS_MAX), ("body", &template.body, BODY_CHARS_MAX)]
    {
        let chars = text.chars().count();
        if chars > max || (field == "subject" && text.trim().is_empty()) {
            return Err(format!("templates.{language}.{field} must be 1 to {max} characters (it has {chars})"));
        }
        if let Err(error) = environment.template_from_str(text) {
            return Err(format!("templates.{language}.{field} is not a valid template: {error}"));
        }
    }
    Ok(())
}

/// A writer that refuses to go past `RENDER_BYTES_MAX`.
struct Bounded(Vec<u8>);

impl std::io::Write for Bounded {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if self.0.len() + bytes.len() > RENDER_BYTES_MAX {
            return Err(std::io::Error::other(format!("the text is longer than {RENDER_BYTES_MAX} bytes")));
        }
        self.0.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn render_one(
    environment: &minijinja::Environment<'_>,
    text: &str,
    event: &serde_json::Value,
) -> Result<String, String> {
    let template = environment.template_from_str(text).map_err(|e| e.to_string())?;
    let mut out = Bounded(Vec::new());
    template.render_captured_to(event, &mut out).map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(&out.0).into_owned())
}

/// The subject and body of `template` for an event, one line of subject.
pub fn render(template: &Template, event: &serde_json::Value) -> Result<(String, String), String> {
    let environment = environment();
    let subject = render_one(&environment, &template.subject, event).map_err(|e| format!("the subject: {e}"))?;
    let body = render_one(&environment, &template.body, event).map_err(|e| format!("the body: {e}"))?;
    let subject = subject.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ");
    Ok((subject, body))
}

impl Notify {
    /// The template for a language: its own, or the default language's.
    pub fn template(&self, language: Option<&str>) -> Option<&Template> {
        language.and_then(|l| self.templates.get(l)).or_else(|| self.templates.get(&self.default_language))
    }

    /// The recipients grouped by the language their messages are written in.
    fn by_language(&self) -> BTreeMap<&str, Vec<&str>> {
        let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for recipient in &self.recipients {
            let language = recipient
                .language
                .as_deref()
                .filter(|l| self.templates.contains_key(*l))
                .unwrap_or(&self.default_language);
            groups.entry(language).or_default().push(&recipient.address);
        }
        groups
    }
}

/// The node's SMTP connection (`--smtp-url`) and the sender its messages come from.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

/// The node's SMTP server and sender, as given on the command line.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    /// `smtp://host:port` (plain, for a relay on the machine or in the network), with
    /// `?tls=required` for STARTTLS, or `smtps://user:password@host:port` (TLS).
    pub url: String,
    pub from: String,
}

impl SmtpSettings {
    /// Checks the URL and the sender, naming the flag at fault.
    pub fn check(&self) -> Result<(), String> {
        self.from.parse::<Mailbox>().map_err(|e| format!("--smtp-from \"{}\" is not an address: {e}", self.from))?;
        AsyncSmtpTransport::<Tokio1Executor>::from_url(&self.url)
            .map_err(|e| format!("--smtp-url is not an SMTP URL: {e}"))?;
        Ok(())
    }
}

impl Mailer {
    /// The connection pool to the server: made inside the runtime that sends.
    pub fn new(settings: &SmtpSettings, timeout: std::time::Duration) -> Result<Self, String> {
        settings.check()?;
        let (url, from) = (&settings.url, &settings.from);
        let from: Mailbox = from.parse().map_err(|e| format!("--smtp-from \"{from}\" is not an address: {e}"))?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("--smtp-url is not an SMTP URL: {e}"))?
            .timeout(Some(timeout))
            .build();
        Ok(Self { transport, from })
    }

    /// Renders every language's message first (a template that fails sends nothing),
    /// then sends each recipient its own message (no one sees the others' addresses). A
    /// recipient the server refuses for good (a 5xx) is logged and passed over; any other
    /// failure fails the attempt, which is retried whole: a recipient may get a message
    /// twice, never none.
    pub async fn send(&self, notify: &Notify, event: &serde_json::Value) -> Result<u16, String> {
        let mut messages = Vec::new();
        for (language, addresses) in notify.by_language() {
            let template = notify.template(Some(language)).ok_or("the rule has no template")?;
            let (subject, body) = render(template, event)?;
            for address in addresses {
                let to: Mailbox = address.parse().map_err(|e| format!("recipient \"{address}\": {e}"))?;
                let message = Message::builder()
                    .from(self.from.clone())
                    .to(to)
                    .subject(subject.clone())
                    .header(ContentType::TEXT_PLAIN)
                    .body(body.clone())
                    .map_err(|e| format!("the message: {e}"))?;
                messages.push((address, message));
            }
        }
        for (address, message) in messages {
            match self.transport.send(message).await {
                Ok(_) => {}
                Err(error) if error.is_permanent() => {
                    tracing::warn!(recipient = address, %error, "notifications: a recipient refused for good; passed over");
                }
                Err(error) => return Err(format!("smtp, to {address}: {error}")),
            }
        }
        Ok(250)
    }
}

/// The JSON a chat-style webhook channel receives.
pub fn chat_body(notify: &Notify, event: &serde_json::Value) -> Result<Vec<u8>, String> {
    let template = notify.template(None).ok_or("the rule has no template")?;
    let (subject, text) = render(template, event)?;
    let id = event.get("id").cloned().unwrap_or_default();
    Ok(serde_json::json!({"subject": subject, "text": text, "event": id}).to_string().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(templates: &[(&str, &str, &str)]) -> Notify {
        Notify {
            channel: Channel::Email,
            recipients: vec![
                Recipient { address: "ops@example.com".into(), language: None },
                Recipient { address: "almacen@example.com".into(), language: Some("es".into()) },
                Recipient { address: "lager@example.com".into(), language: Some("de".into()) },
            ],
            templates: templates
                .iter()
                .map(|(l, s, b)| ((*l).to_owned(), Template { subject: (*s).into(), body: (*b).into() }))
                .collect(),
            default_language: "en".into(),
        }
    }

    #[test]
    fn templates_render_the_event_in_each_recipients_language() {
        let notify = rule(&[
            ("en", "Order {{ aggregate.id }} {{ type }}", "Total {{ data.total }}"),
            ("es", "Pedido {{ aggregate.id }}", "x"),
        ]);
        let event = serde_json::json!({"type": "order.paid", "aggregate": {"id": "o1"}, "data": {"total": "9.90"}});
        let rendered = render(notify.template(Some("en")).expect("en"), &event).expect("renders");
        assert_eq!(rendered, ("Order o1 order.paid".to_owned(), "Total 9.90".to_owned()));
        let groups = notify.by_language();
        assert_eq!(groups["en"], vec!["ops@example.com", "lager@example.com"], "no German template: the default");
        assert_eq!(groups["es"], vec!["almacen@example.com"]);
        assert_eq!(render(notify.template(Some("es")).expect("es"), &event).expect("renders").0, "Pedido o1");
    }

    #[test]
    fn a_template_can_neither_spin_nor_fill_memory() {
        let event = serde_json::json!({"type": "order.paid"});
        let spin = Template {
            subject: "x".into(),
            body: "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}".into(),
        };
        assert!(render(&spin, &event).expect_err("out of fuel").contains("fuel"));
        let huge =
            Template { subject: "x".into(), body: "{% for a in range(1000) %}{{ 'x' * 1000 }}{% endfor %}".into() };
        let error = render(&huge, &event).expect_err("too long");
        assert!(error.contains("write") || error.contains("longer than"), "{error}");
        let missing = Template { subject: "{{ data.total.amount }}!".into(), body: "{{ nothing.at.all }}".into() };
        assert_eq!(render(&missing, &event).expect("renders"), ("!".to_owned(), String::new()));
    }

    #[test]
    fn a_bad_template_is_refused_naming_its_language_and_field() {
        let broken = Template { subject: "ok".into(), body: "{{ data.total ".into() };
        let error = check("es", &broken).expect_err("unclosed");
        assert!(error.starts_with("templates.es.body is not a valid template"), "{error}");
        let empty = Template { subject: " ".into(), body: String::new() };
        assert!(check("en", &empty).expect_err("empty").starts_with("templates.en.subject"));
    }
}
