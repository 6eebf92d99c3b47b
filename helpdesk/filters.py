"""django-filter support shared by the API's list views."""

from django_filters.filters import QuerySetRequestMixin


class FormClassOnceMixin:
    """A FilterSet that builds its form class once per process instead of on every request.

    django-filter builds it anew for each request: a form field per filter, each with a label looked up
    in the model's fields, a third of the ticket list's filtering time. The class holds no request
    state, since each form deep-copies its fields, except where a filter's choices come from a queryset
    picked per request (model choice filters) or a FilterSet changes its filters per instance: those
    keep building it per request.
    """

    def get_form_class(self):
        cls = type(self)
        form_class = cls.__dict__.get("_form_class")
        if form_class is not None:
            return form_class
        form_class = super().get_form_class()
        per_request = any(isinstance(filter_, QuerySetRequestMixin) for filter_ in self.filters.values())
        if not per_request and self.filters.keys() == cls.base_filters.keys():
            cls._form_class = form_class
        return form_class
