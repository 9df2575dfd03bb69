//! The JSON API under `/api/v1`, with its OpenAPI document generated from the
//! handlers themselves so that the two cannot drift apart.

pub mod analytics;
pub mod audit;
pub mod cohorts;
pub mod configuration;
pub mod dashboards;
pub mod docs;
pub mod feedback;
pub mod feeds;
pub mod improvement;
pub mod insights;
pub mod me;
pub mod overview;
pub mod performance;
pub mod projects;
pub mod releases;
pub mod revenue;
pub mod reviews;
pub mod scaling;
pub mod security;
pub mod support;
pub mod tokens;
pub mod users;
pub mod webhooks;

use axum::Json;
use axum::Router;
use axum::routing::get;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Content, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::Problem;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "liveops",
        description = "The liveops HTTP API. Every error is an RFC 9457 problem-details body.",
        license(name = "Apache-2.0")
    ),
    components(schemas(Problem)),
    security(("bearer" = []))
)]
struct ApiDoc;

/// Adds what every operation shares: the bearer scheme, and a default
/// problem-details response for every error status.
struct Conventions;

impl Modify for Conventions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        let problem = ResponseBuilder::new()
            .description("An error, as RFC 9457 problem details")
            .content(
                "application/problem+json",
                Content::new(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                    "Problem",
                )))),
            )
            .build();
        for item in openapi.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                op.responses
                    .responses
                    .entry("default".into())
                    .or_insert_with(|| RefOr::T(problem.clone()));
            }
        }
    }
}

/// The API routes and the OpenAPI document that describes them.
pub fn router() -> Router<AppState> {
    let (router, mut openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(me::me))
        .routes(routes!(users::list_users, users::create_user))
        .routes(routes!(projects::list_projects, projects::create_project))
        .routes(routes!(projects::get_project))
        .routes(routes!(overview::overview))
        .routes(routes!(configuration::export, configuration::apply))
        .routes(routes!(configuration::put_one, configuration::delete_one))
        .routes(routes!(projects::rotate_ingest_key))
        .routes(routes!(projects::list_keys))
        .routes(routes!(projects::rotate_key))
        .routes(routes!(projects::put_mail_signing))
        .routes(routes!(projects::put_slack_signing))
        .routes(routes!(projects::put_public_pages))
        .routes(routes!(projects::list_members))
        .routes(routes!(projects::set_member, projects::remove_member))
        .routes(routes!(tokens::list_tokens, tokens::create_token))
        .routes(routes!(tokens::revoke_token))
        .routes(routes!(
            tokens::list_instance_tokens,
            tokens::create_instance_token
        ))
        .routes(routes!(tokens::revoke_instance_token))
        .routes(routes!(audit::list_audit))
        .routes(routes!(support::list_components, support::create_component))
        .routes(routes!(support::set_component_status))
        .routes(routes!(support::list_schedules, support::create_schedule))
        .routes(routes!(support::get_schedule))
        .routes(routes!(support::create_override))
        .routes(routes!(support::delete_override))
        .routes(routes!(support::who_is_on_call))
        .routes(routes!(support::schedule_calendar))
        .routes(routes!(support::user_calendar))
        .routes(routes!(feeds::list_feeds, feeds::create_feed))
        .routes(routes!(feeds::revoke_feed))
        .routes(routes!(support::list_tiers))
        .routes(routes!(support::set_tier))
        .routes(routes!(support::list_policies, support::create_policy))
        .routes(routes!(
            support::list_integrations,
            support::create_integration
        ))
        .routes(routes!(
            support::integration_address,
            support::replace_integration_address
        ))
        .routes(routes!(support::list_hooks, support::create_hook))
        .routes(routes!(support::list_rules, support::create_rule))
        .routes(routes!(support::delete_rule))
        .routes(routes!(support::list_incidents, support::create_incident))
        .routes(routes!(support::get_incident))
        .routes(routes!(support::acknowledge_incident))
        .routes(routes!(support::resolve_incident))
        .routes(routes!(support::escalate_incident))
        .routes(routes!(support::add_incident_update))
        .routes(routes!(support::link_incident))
        .routes(routes!(support::request_hotfix))
        .routes(routes!(support::list_tickets, support::create_ticket))
        .routes(routes!(support::get_ticket))
        .routes(routes!(support::ticket_action))
        .routes(routes!(support::support_stats))
        .routes(routes!(support::release_fixes))
        .routes(routes!(
            support::list_maintenances,
            support::create_maintenance
        ))
        .routes(routes!(support::move_maintenance))
        .routes(routes!(support::get_dsn, support::rotate_dsn))
        .routes(routes!(support::put_error_alerts))
        .routes(routes!(support::list_issues))
        .routes(routes!(support::get_issue, support::update_issue))
        .routes(routes!(support::get_issue_event))
        .routes(routes!(support::merge_issues))
        .routes(routes!(support::unmerge_issue))
        .routes(routes!(support::link_issue))
        .routes(routes!(support::issue_to_backlog))
        .routes(routes!(
            support::list_grouping_rules,
            support::add_grouping_rule
        ))
        .routes(routes!(support::delete_grouping_rule))
        .merge(
            // Source maps are larger than other API bodies.
            OpenApiRouter::new()
                .routes(routes!(
                    support::upload_release_file,
                    support::list_release_files,
                    support::delete_release_files
                ))
                .layer(axum::extract::DefaultBodyLimit::max(
                    liveops_wire::sourcemaps::MAX_FILE_BYTES,
                )),
        )
        .routes(routes!(analytics::event_names))
        .routes(routes!(analytics::trends, analytics::trends_query))
        .routes(routes!(analytics::web))
        .routes(routes!(revenue::revenue))
        .routes(routes!(revenue::mrr))
        .routes(routes!(revenue::get_settings, revenue::put_settings))
        .routes(routes!(
            revenue::rates,
            revenue::import_rates,
            revenue::delete_rates
        ))
        .routes(routes!(cohorts::list, cohorts::create))
        .routes(routes!(cohorts::show, cohorts::delete))
        .routes(routes!(cohorts::sizes))
        .routes(routes!(insights::list, insights::create))
        .routes(routes!(insights::show, insights::delete))
        .routes(routes!(dashboards::put_goal))
        .routes(routes!(dashboards::put_alert))
        .routes(routes!(dashboards::list, dashboards::create))
        .routes(routes!(dashboards::import))
        .routes(routes!(
            dashboards::show,
            dashboards::update,
            dashboards::delete
        ))
        .routes(routes!(dashboards::export_json))
        .routes(routes!(analytics::active))
        .routes(routes!(analytics::stickiness))
        .routes(routes!(analytics::lifecycle))
        .routes(routes!(analytics::funnel))
        .routes(routes!(analytics::retention))
        .routes(routes!(analytics::list_features, analytics::create_feature))
        .routes(routes!(analytics::delete_feature))
        .routes(routes!(analytics::feature_usage))
        .routes(routes!(
            analytics::list_key_funnels,
            analytics::create_key_funnel
        ))
        .routes(routes!(analytics::delete_key_funnel))
        .routes(routes!(analytics::persons))
        .routes(routes!(analytics::person, analytics::delete_person))
        .routes(routes!(analytics::get_settings, analytics::put_settings))
        .routes(routes!(analytics::export))
        .routes(routes!(performance::routes))
        .routes(routes!(performance::series))
        .routes(routes!(performance::queries))
        .routes(routes!(performance::findings))
        .routes(routes!(performance::update_finding))
        .routes(routes!(performance::trace))
        .routes(routes!(performance::report))
        .routes(routes!(performance::list_rules, performance::create_rule))
        .routes(routes!(performance::delete_rule))
        .routes(routes!(performance::list_slos, performance::create_slo))
        .routes(routes!(performance::delete_slo))
        .routes(routes!(performance::metric_names))
        .routes(routes!(performance::metric_series))
        .routes(routes!(
            releases::list_deployments,
            releases::record_deployment
        ))
        .routes(routes!(webhooks::list_webhooks))
        .routes(routes!(webhooks::put_webhook, webhooks::delete_webhook))
        .routes(routes!(webhooks::list_pull_requests))
        .routes(routes!(feedback::list_feedback, feedback::create_feedback))
        .routes(routes!(feedback::import_feedback))
        .routes(routes!(feedback::get_feedback))
        .routes(routes!(feedback::feedback_action))
        .routes(routes!(feedback::feedback_from_ticket))
        .routes(routes!(feedback::list_items, feedback::create_item))
        .routes(routes!(feedback::get_item, feedback::update_item))
        .routes(routes!(feedback::merge_item))
        .routes(routes!(releases::list_trains, releases::create_train))
        .routes(routes!(releases::train_calendar))
        .routes(routes!(releases::list_releases, releases::create_release))
        .routes(routes!(releases::get_release))
        .routes(routes!(releases::schedule_items))
        .routes(routes!(releases::move_release))
        .routes(routes!(releases::create_hotfix))
        .routes(routes!(releases::put_openapi))
        .routes(routes!(releases::release_notes))
        .routes(routes!(docs::list_adrs, docs::import_adrs))
        .routes(routes!(security::scan))
        .routes(routes!(security::list_findings))
        .routes(routes!(security::finding_action))
        .routes(routes!(security::import_sarif))
        .routes(routes!(security::import_pentest))
        .routes(routes!(security::get_slas, security::put_slas))
        .routes(routes!(
            security::list_credentials,
            security::put_credential
        ))
        .routes(routes!(security::upload_certificates))
        .routes(routes!(security::delete_credential))
        .routes(routes!(security::osv_status))
        .routes(routes!(improvement::dora))
        .routes(routes!(improvement::dora_trends))
        .routes(routes!(improvement::lead_time))
        .routes(routes!(improvement::dora_suggestions))
        .routes(routes!(scaling::list_capacity))
        .routes(routes!(scaling::get_forecast))
        .routes(routes!(scaling::put_capacity, scaling::delete_capacity))
        .routes(routes!(scaling::get_retention))
        .routes(routes!(scaling::put_retention))
        .routes(routes!(
            improvement::weekly_report,
            improvement::save_weekly_report
        ))
        .routes(routes!(improvement::list_reports))
        .routes(routes!(
            improvement::list_report_recipients,
            improvement::add_report_recipient,
            improvement::remove_report_recipient
        ))
        .routes(routes!(reviews::list_postmortems))
        .routes(routes!(
            reviews::get_postmortem,
            reviews::draft_postmortem,
            reviews::edit_postmortem
        ))
        .routes(routes!(reviews::refresh_postmortem))
        .routes(routes!(reviews::move_postmortem))
        .routes(routes!(reviews::sign_off))
        .routes(routes!(reviews::mark_entry))
        .routes(routes!(reviews::add_action))
        .routes(routes!(reviews::list_reviews, reviews::create_review))
        .routes(routes!(reviews::get_review, reviews::edit_review))
        .routes(routes!(reviews::add_finding))
        .split_for_parts();
    // After the routes, so that it reaches every operation.
    Conventions.modify(&mut openapi);
    let doc = std::sync::Arc::new(openapi);
    router.route(
        "/api/v1/openapi.json",
        get(move || {
            let doc = doc.clone();
            async move { Json(doc.as_ref().clone()) }
        }),
    )
}
