# Reference fits with R's lme4 for perfkit's growth-model tests.
#
#   Rscript tests/reference/lme4_fits.R            (from the project root; needs r-cran-lme4)
#
# Reads every tests/reference/data/*.csv (columns clinician_id, client_id, time, score, intake,
# intake_c, as perfkit writes model_data_<instrument>.csv) and writes, for each, a file
# tests/reference/lme4/<name>.csv with one row per quantity: the fixed effects, the variance
# components, the fixed effects' standard errors, the REML log-likelihood and whether the fit is singular; and
# tests/reference/lme4/<name>_correlated.csv for the model with a correlated client intercept
# and slope, (1 + time | clinician_id:client_id), which perfkit's own fitter offers; and
# tests/reference/lme4/<name>_ranef.csv with each clinician's conditional mode of the time slope
# and its conditional variance (ranef(condVar = TRUE)), the basis of clinician_effects.csv.
suppressMessages(library(lme4))
args <- commandArgs(trailingOnly = TRUE)
root <- if (length(args) > 0) args[1] else "tests/reference"
dir.create(file.path(root, "lme4"), showWarnings = FALSE)
for (path in Sys.glob(file.path(root, "data", "*.csv"))) {
  d <- read.csv(path, colClasses = c(clinician_id = "character", client_id = "character"))
  name <- sub("\\.csv$", "", basename(path))
  for (variant in c("independent", "correlated")) {
  fit <- if (variant == "independent") {
    lmer(score ~ time * intake_c + (1 + time | clinician_id) +
           (1 | clinician_id:client_id) + (0 + time | clinician_id:client_id),
         data = d, REML = TRUE)
  } else {
    lmer(score ~ time * intake_c + (1 + time | clinician_id) +
           (1 + time | clinician_id:client_id), data = d, REML = TRUE)
  }
  vc <- as.data.frame(VarCorr(fit))
  get <- function(grp, v1, v2 = NA) {
    # lme4 names a second term on the same grouping "<grp>.1": match either name
    g2 <- gsub(":", ".", grp, fixed = TRUE)  # as.data.frame(VarCorr) writes "a.b" for "a:b"
    same <- vc$grp %in% c(grp, paste0(grp, ".1"), g2, paste0(g2, ".1"))
    row <- vc[same & vc$var1 %in% v1 &
                (if (is.na(v2)) is.na(vc$var2) else vc$var2 %in% v2), ]
    row$vcov[1]
  }
  cl_int <- get("clinician_id", "(Intercept)")
  cl_slope <- get("clinician_id", "time")
  cl_cov <- get("clinician_id", "(Intercept)", "time")
  cli_cov <- if (variant == "correlated") get("clinician_id:client_id", "(Intercept)", "time")
             else 0
  out <- data.frame(
    quantity = c(paste0("fixef:", names(fixef(fit))), paste0("se:", names(fixef(fit))),
                 "clinician_intercept", "clinician_slope",
                 "clinician_covariance", "client_intercept", "client_slope",
                 "client_covariance", "residual", "reml_loglik", "singular", "n_scores",
                 "lme4_version"),
    value = c(unname(fixef(fit)), unname(sqrt(diag(as.matrix(vcov(fit))))),
              cl_int, cl_slope, cl_cov,
              get("clinician_id:client_id", "(Intercept)"),
              get("clinician_id:client_id", "time"), cli_cov, sigma(fit)^2,
              as.numeric(logLik(fit)), as.numeric(isSingular(fit)), nrow(d), NA))
  out$value <- format(out$value, digits = 12)
  out$value[nrow(out)] <- as.character(packageVersion("lme4"))
  suffix <- if (variant == "independent") "" else "_correlated"
  if (variant == "independent") {
    re <- ranef(fit, condVar = TRUE)$clinician_id
    pv <- attr(re, "postVar")
    k <- which(colnames(re) == "time")
    modes <- data.frame(clinician_id = rownames(re),
                        slope = format(re[, k], digits = 12),
                        slope_condvar = format(pv[k, k, ], digits = 12))
    write.csv(modes, file.path(root, "lme4", paste0(name, "_ranef.csv")), row.names = FALSE)
  }
  write.csv(out, file.path(root, "lme4", paste0(name, suffix, ".csv")), row.names = FALSE)
  cat(name, variant, ": logLik", as.numeric(logLik(fit)), "singular", isSingular(fit), "\n")
  }
}

# ---------------------------------------------------------------------------------------------
# perfkit.fit_growth / perfkit.compare_growth (tests/test_growth_api.py): the same datasets
# under other column names, with client ids that repeat across clinicians (a client id is
# unique only within its clinician: lme4's therapist:patient), the baseline (intake) centred
# at the mean over clients as perfkit centres it. Writes tests/reference/lme4_api/<name>.csv
# (fit, quantity, value: fixed effects, their standard errors, as.data.frame(VarCorr) rows as
# vc|grp|var1|var2|vcov or sdcor,
# logLik, AIC, BIC, npar, nobs, singular), <name>_ranef.csv (each therapist's conditional
# modes and conditional covariance; the patients' modes of one fit), <name>_anova.csv (anova()
# tables) and <name>_predict.csv (predict() on new rows, new levels allowed).
# lme4's default stopping rule can end a little short of the optimum (warnings of max|grad|
# above 0.002 here): tighter tolerances, so the references are the optimum itself
tight <- lmerControl(optCtrl = list(xtol_abs = 1e-12, ftol_abs = 1e-12, xtol_rel = 0,
                                    ftol_rel = 1e-14, maxeval = 1e5))
api <- file.path(root, "lme4_api")
dir.create(api, showWarnings = FALSE)
for (path in Sys.glob(file.path(root, "data", "*.csv"))) {
  src <- read.csv(path, colClasses = c(clinician_id = "character", client_id = "character"))
  name <- sub("\\.csv$", "", basename(path))
  d <- data.frame(therapist = src$clinician_id, patient = sub(".*-", "", src$client_id),
                  weeks = src$time, phq = src$score, intake = src$intake)
  first <- !duplicated(paste(d$therapist, d$patient))
  d$intake_c <- d$intake - mean(d$intake[first])
  fits <- list(
    baseline_diagonal = lmer(phq ~ weeks * intake_c + (1 + weeks | therapist) +
                               (1 | therapist:patient) + (0 + weeks | therapist:patient),
                             data = d, REML = TRUE,
                             control = tight),
    baseline_correlated = lmer(phq ~ weeks * intake_c + (1 + weeks | therapist) +
                                 (1 + weeks | therapist:patient), data = d, REML = TRUE,
                             control = tight),
    plain_diagonal = lmer(phq ~ weeks + (1 + weeks | therapist) + (1 | therapist:patient) +
                            (0 + weeks | therapist:patient), data = d, REML = TRUE,
                             control = tight),
    plain_correlated = lmer(phq ~ weeks + (1 + weeks | therapist) +
                              (1 + weeks | therapist:patient), data = d, REML = TRUE,
                             control = tight),
    two_level = lmer(phq ~ weeks * intake_c + (1 | therapist:patient) +
                       (0 + weeks | therapist:patient), data = d, REML = TRUE, control = tight))
  rows <- list()
  ranefs <- list()
  for (fname in names(fits)) {
    fit <- fits[[fname]]
    vc <- as.data.frame(VarCorr(fit))
    vc$grp <- gsub(".", ":", sub("\\.1$", "", vc$grp), fixed = TRUE)  # one name per grouping
    vc_q <- paste("vc", vc$grp, ifelse(is.na(vc$var1), "", vc$var1),
                  ifelse(is.na(vc$var2), "", vc$var2), sep = "|")
    q <- c(paste0("fixef:", names(fixef(fit))), paste0("se:", names(fixef(fit))),
           paste0(vc_q, "|vcov"), paste0(vc_q, "|sdcor"),
           "logLik", "AIC", "BIC", "npar", "nobs", "singular")
    v <- c(unname(fixef(fit)), unname(sqrt(diag(as.matrix(vcov(fit))))), vc$vcov, vc$sdcor,
           as.numeric(logLik(fit)), AIC(fit), BIC(fit), attr(logLik(fit), "df"), nobs(fit),
           as.numeric(isSingular(fit)))
    rows[[fname]] <- data.frame(fit = fname, quantity = q, value = format(v, digits = 15))
    if ("therapist" %in% names(ranef(fit))) {
      re <- ranef(fit, condVar = TRUE)$therapist
      pv <- attr(re, "postVar")
      ranefs[[fname]] <- data.frame(fit = fname, level = "therapist", id = rownames(re),
                                    intercept = format(re[, 1], digits = 15),
                                    slope = format(re[, 2], digits = 15),
                                    var_intercept = format(pv[1, 1, ], digits = 15),
                                    var_slope = format(pv[2, 2, ], digits = 15),
                                    cov = format(pv[1, 2, ], digits = 15))
    }
  }
  pr <- ranef(fits$baseline_correlated)$`therapist:patient`
  ranefs$patients <- data.frame(fit = "baseline_correlated", level = "therapist:patient",
                                id = rownames(pr), intercept = format(pr[, 1], digits = 15),
                                slope = format(pr[, 2], digits = 15), var_intercept = NA,
                                var_slope = NA, cov = NA)
  write.csv(do.call(rbind, rows), file.path(api, paste0(name, ".csv")), row.names = FALSE)
  write.csv(do.call(rbind, ranefs), file.path(api, paste0(name, "_ranef.csv")),
            row.names = FALSE)
  tables <- list(
    baseline_vs_plain = anova(fits$plain_diagonal, fits$baseline_diagonal),
    diagonal_vs_correlated_reml = anova(fits$baseline_diagonal, fits$baseline_correlated,
                                        refit = FALSE),
    diagonal_vs_correlated_ml = anova(fits$baseline_diagonal, fits$baseline_correlated),
    two_vs_three_levels_reml = anova(fits$two_level, fits$baseline_diagonal, refit = FALSE))
  an <- do.call(rbind, lapply(names(tables), function(k) {
    a <- as.data.frame(tables[[k]])
    out <- data.frame(comparison = k, row = seq_len(nrow(a)))
    for (col in names(a)) out[[col]] <- format(a[[col]], digits = 15, trim = TRUE)
    out
  }))
  write.csv(an, file.path(api, paste0(name, "_anova.csv")), row.names = FALSE)
  nd <- d[c(1, 2, nrow(d)), ]
  nd <- rbind(nd, transform(d[1, ], patient = "new"), transform(d[1, ], therapist = "new",
                                                                   patient = "new"))
  p <- data.frame(nd[c("therapist", "patient", "weeks", "intake")])
  for (fname in c("baseline_diagonal", "baseline_correlated", "plain_diagonal")) {
    p[[fname]] <- format(predict(fits[[fname]], newdata = nd, allow.new.levels = TRUE),
                         digits = 15)
    p[[paste0(fname, "_fixed")]] <- format(predict(fits[[fname]], newdata = nd, re.form = NA),
                                           digits = 15)
  }
  write.csv(p, file.path(api, paste0(name, "_predict.csv")), row.names = FALSE)
  cat(name, "API fits written\n")
}
