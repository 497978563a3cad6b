//! Service messages: exact byte format, and property tests that emitting then parsing gives
//! the same name and value for any Unicode text, and that the parser never panics.

use octoshare_core::service_message::{
    ServiceMessage, parse_service_message, parse_service_messages,
};
use proptest::prelude::*;

#[test]
fn set_variable_line_is_byte_exact() {
    assert_eq!(
        ServiceMessage::set_variable("Foo", "Bar").to_line(),
        "##octopus[setVariable name='Rm9v' value='QmFy']"
    );
    assert_eq!(
        ServiceMessage::set_sensitive_variable("ApiKey", "").to_line(),
        "##octopus[setVariable name='QXBpS2V5' value='' sensitive='VHJ1ZQ==']"
    );
}

#[test]
fn messages_in_a_log_are_found_among_other_output() {
    let log = format!(
        "Starting\n{}\nworking... ##octopus[stdout-verbose]\n{}\ndone\n",
        ServiceMessage::set_variable("InitialSpaceId", "Spaces-1").to_line(),
        ServiceMessage::progress(40, "2 of 5 workers").to_line()
    );
    let messages = parse_service_messages(&log);
    let names: Vec<&str> = messages
        .iter()
        .map(|message| message.name.as_str())
        .collect();
    assert_eq!(names, ["setVariable", "stdout-verbose", "progress"]);
    assert_eq!(messages[0].get("value"), Some("Spaces-1"));
    assert_eq!(messages[2].get("percentage"), Some("40"));
}

proptest! {
    #[test]
    fn set_variable_round_trips_any_unicode(name in any::<String>(), value in any::<String>()) {
        let line = ServiceMessage::set_variable(&name, &value).to_line();
        let parsed = parse_service_message(&line).unwrap();
        prop_assert_eq!(parsed.name.as_str(), "setVariable");
        prop_assert_eq!(parsed.get("name"), Some(name.as_str()));
        prop_assert_eq!(parsed.get("value"), Some(value.as_str()));
    }

    #[test]
    fn tricky_text_round_trips(
        name in "[\\]\\['\"\n\r\t ##octopus=<>&;é✓\u{0}-\u{1f}]{0,40}",
        value in "[\\]\\['\"\n\r\t ##octopus=<>&;é✓\u{10FFFF}]{0,80}",
    ) {
        let message = ServiceMessage::set_sensitive_variable(&name, &value);
        let parsed = parse_service_messages(&format!("noise ]]] {}\nmore ##octo noise", message.to_line()));
        prop_assert_eq!(parsed, vec![message]);
    }

    #[test]
    fn many_messages_round_trip_in_order(values in proptest::collection::vec(any::<String>(), 0..8)) {
        let messages: Vec<ServiceMessage> =
            values.iter().map(|value| ServiceMessage::result_message(value)).collect();
        let text: String = messages
            .iter()
            .map(|message| format!("log line ]\r\n{}", message.to_line()))
            .collect();
        prop_assert_eq!(parse_service_messages(&text), messages);
    }

    #[test]
    fn parser_never_panics_on_arbitrary_text(text in any::<String>()) {
        let _ = parse_service_messages(&text);
        let _ = parse_service_message(&text);
    }

    #[test]
    fn parser_never_panics_on_message_like_text(text in "(##octopus|\\[|\\]|[a-zA-Z]{1,5}|=|'|\"|[A-Za-z0-9+/=]{0,8}| |\n|#|&#x?[0-9a-f]{0,4};?|é){0,40}") {
        let _ = parse_service_messages(&text);
        let _ = parse_service_message(&text);
    }
}
