//! What a start does before it opens the port, once the state is recovered: seeds each
//! commerce's settings and data no snapshot or record held from its file (or its settings
//! when the file's differ from the log's), each catalogue no snapshot or record held from
//! the file's products (through the log), a
//! fresh data folder's opening stock, and resumes the import jobs a stop cut short.

use mercato_actors::Registry;
use mercato_engine::inventory::InventoryCommand;

use crate::http::AppState;
use crate::server::ServerError;

/// Seeds what is to be seeded and resumes unfinished imports.
pub(crate) async fn seed_and_resume(state: &AppState, fresh: bool) -> Result<(), ServerError> {
    for (code, commerce) in state.registry.iter() {
        commerce.record_start_settings().await.map_err(|e| ServerError::Start(format!("{code}: settings: {e}")))?;
        let seeded = commerce.seed_catalog().await.map_err(|e| ServerError::Start(format!("{code}: {e}")))?;
        if seeded > 0 {
            tracing::info!(commerce = code, seeded, "catalogue seeded from the configuration file");
        }
    }
    if fresh {
        let seeded = seed_opening_stock(&state.registry).await?;
        tracing::info!(seeded, "opening stock received into a fresh data folder");
    }
    for header in state.imports.kept() {
        if let Some(commerce) = state.registry.get(&header.commerce) {
            state.imports.resume(header, commerce.clone()).await;
        }
    }
    Ok(())
}

/// Receives each commerce's opening stock (`opening_stock` in its file), durably, as the
/// receipts it stands for: only into a fresh data folder, so it is seeded once. The
/// entries received.
async fn seed_opening_stock(registry: &Registry) -> Result<usize, ServerError> {
    let mut seeded = 0;
    for (code, commerce) in registry.iter() {
        let config = commerce.snapshot();
        for entry in &config.config().opening_stock {
            let failed = |error: String| ServerError::Start(format!("{code}: opening stock of {}: {error}", entry.sku));
            let warehouse = commerce.warehouses().get(&entry.warehouse).ok_or_else(|| failed("no warehouse".into()))?;
            let receipt = InventoryCommand::ReceiveStock { sku: entry.sku.clone(), quantity: entry.quantity };
            warehouse
                .send(mercato_actors::Execute(receipt))
                .await
                .map_err(|error| failed(error.to_string()))?
                .map_err(|error| failed(error.to_string()))?;
            seeded += 1;
        }
    }
    Ok(seeded)
}
