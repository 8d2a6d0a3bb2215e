#pragma once

// CustomResourceDefinitions with `spec.conversion.strategy: Webhook`: objects change version by
// a ConversionReview POSTed to the CRD's conversion webhook, as apiextensions-apiserver's
// webhookConverter does (pkg/apiserver/conversion/webhook_converter.go): the first of
// conversionReviewVersions this server speaks (v1, v1beta1), every object of a list in one
// request, the answer's objects checked (count, apiVersion, kind, name, namespace, uid) and
// their metadata restored except labels and annotations. Errors read
// `conversion webhook for <group>/<version>, Kind=<Kind> failed: <cause>`.

#include "skiff/master/api/registry.h"

namespace skiff::master::apiextensions {

// The converter skiff-master installs with Registry::setCustomConverter; `registry` resolves
// webhook Services to endpoints.
api::Registry::CustomConverter newWebhookConverter(api::Registry& registry);

}  // namespace skiff::master::apiextensions
