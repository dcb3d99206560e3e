//! What every feature of the window may use: the commands features return, the read-only view of
//! the shared state they draw from, the persisted UI state, file dialogs, the background tasks,
//! the session's job list, frame statistics and the shared widgets. Nothing here imports a
//! feature or the app.

pub mod active_model;
pub mod command;
pub mod dialogs;
pub mod frame_stats;
pub mod job_list;
pub mod notices;
pub mod options;
pub mod portal;
pub mod rows;
pub mod search;
pub mod state;
pub mod tasks;
pub mod training_form;
pub mod view;
pub mod widgets;
