//! `workspace/executeCommand`: dispatch on [`Command`] (the same enum advertises them).

use serde_json::{json, Value};
use tower_lsp::jsonrpc::{Error, Result};
use tower_lsp::lsp_types as lsp;

use crate::documents::{LineIndex, PositionEncoding};
use crate::lsp::commands::Command;
use crate::lsp::convert::{self, uri_to_path};
use crate::lsp::runs::{self, StartError};
use crate::lsp::session::Session;
use crate::lsp::traces;
use crate::runs::queue::Priority;
use crate::runs::selection::Selection;

pub(crate) async fn run(
    session: &Session,
    params: lsp::ExecuteCommandParams,
) -> Result<Option<Value>> {
    let id = params.command.as_str();
    let command = Command::parse(id)
        .ok_or_else(|| Error::invalid_params(format!("unknown command: {id}")))?;
    match command {
        Command::RunScenario | Command::RunFile => {
            run_scenarios(session, command, &params.arguments).await
        }
        Command::ShowTraceDiff | Command::UpdateBaseline => {
            let Some((uri, scenario)) = traces::command_args(&params.arguments) else {
                return Err(Error::invalid_params(format!(
                    "{id} expects [uri, scenario]"
                )));
            };
            let path = uri_to_path(&uri)
                .ok_or_else(|| Error::invalid_params(format!("not a file: {uri}")))?;
            let root = session.root_of(&path);
            if command == Command::ShowTraceDiff {
                let md = session
                    .engine(move || traces::show_diff(&path, &root, &scenario))
                    .await?
                    .map_err(Error::invalid_params)?;
                return Ok(Some(Value::String(md)));
            }
            let written = session
                .engine(move || traces::update_baseline(&path, &root, &scenario))
                .await?
                .map_err(Error::invalid_params)?;
            session.show_message(
                lsp::MessageType::INFO,
                format!("baseline recorded: {}", written.display()),
            );
            session.refresh_lenses();
            Ok(Some(json!({ "baseline": written })))
        }
    }
}

/// `clnrm.runScenario [uri, scenario]` and `clnrm.runFile [uri]`.
async fn run_scenarios(
    session: &Session,
    command: Command,
    args: &[Value],
) -> Result<Option<Value>> {
    let id = command.id();
    let Some((uri, scenario)) = runs::command_args(args) else {
        return Err(Error::invalid_params(format!(
            "{id} expects [uri, scenario?]"
        )));
    };
    let selection = match (command, scenario) {
        (Command::RunFile, _) => Selection::all(),
        (_, Some(s)) => Selection::named([s]),
        (_, None) => {
            return Err(Error::invalid_params(format!(
                "{id} expects [uri, scenario]"
            )))
        }
    };
    let settings = session.settings();
    if !settings.trusted() {
        return Err(Error::invalid_params(settings.refusal()));
    }
    // A user's explicit run goes first and runs again even when a result is cached.
    let enc = session.ws.encoding();
    let queued = runs::start(session, &uri, selection, Priority::Explicit, false)
        .await
        .map_err(|e| start_error(e, &uri, enc))?;
    Ok(Some(json!({ "scenarios": queued })))
}

/// A refused run as an LSP error; a file with errors carries them in `data.diagnostics`,
/// exactly as they would be published for the open file.
fn start_error(e: StartError, uri: &lsp::Url, enc: PositionEncoding) -> Error {
    let mut err = Error::invalid_params(e.message);
    if let Some((text, diags)) = e.diagnostics {
        let index = LineIndex::new(&text);
        let diags = convert::diagnostics(&diags, uri, &text, &index, enc);
        err.data = Some(json!({ "diagnostics": diags }));
    }
    err
}
